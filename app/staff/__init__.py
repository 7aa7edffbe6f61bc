from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")

# Imported last: the views need `bp` to exist to attach their routes.
from app.staff import views  # noqa: E402, F401
