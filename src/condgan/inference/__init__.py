"""A trained generator in use: noise, sampling, image files, export and the runtime that serves it."""
