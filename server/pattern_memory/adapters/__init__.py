"""LoRA adapter fusion (safetensors + NumPy), with versions and rollback."""
