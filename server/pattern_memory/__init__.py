"""Pattern Memory: learns the fixes in a team's git history and gives them back."""

__version__ = "0.1.0"
