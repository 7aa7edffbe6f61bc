"""Extensions are created once here and bound to an app in `create_app` (init_app pattern),
so models, services and tests import them without importing an application."""

from flask_htmx import HTMX
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from app.signing import RotatingLoginManager

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
# compare_type: autogenerate notices type changes; render_as_batch: ALTERs work on SQLite.
migrate = Migrate(compare_type=True, render_as_batch=True)
login_manager = RotatingLoginManager()
csrf = CSRFProtect()
mail = Mail()
htmx = HTMX()
