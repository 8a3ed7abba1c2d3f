"""Config sections owned by feature modules; ``earful.config.models.AppConfig`` wires them in.

Each section is a pydantic model with defaults, so a config without it is valid.
"""
