from agrorisk_web.cli import app

app(prog_name="agrorisk-web")
