"""Code the tests load into the processes they start (callbacks named in Hydra overrides)."""
