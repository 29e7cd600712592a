"""The web console: the assist panel agents use and the signals dashboard product teams read."""
