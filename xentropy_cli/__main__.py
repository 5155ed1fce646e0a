from xentropy_cli.cli import app

app(prog_name="xent")
