"""``python -m controller`` runs the bgctl command line."""

from controller.cli import app

app(prog_name="bgctl")
