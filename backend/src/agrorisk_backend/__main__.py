from agrorisk_backend.cli import app

app(prog_name="agrorisk-backend")
