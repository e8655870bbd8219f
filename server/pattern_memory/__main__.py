from pattern_memory.cli import main

raise SystemExit(main())
