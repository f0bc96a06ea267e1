"""TwoWay's configuration: read once from the environment and `.env`, then passed down.

Variable names are a contract (deployments and end-to-end checks set them), so each field's
alias is the exact environment variable. A bad value becomes one `ConfigError` line that names
the variable and says what is expected; the CLI turns it into exit status 2.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Annotated, Any, get_args
from urllib.parse import parse_qsl, unquote

from dotenv.parser import parse_stream
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url

from bot.core import ids
from bot.core.crypto import MIN_KEY_LENGTH, split_keys
from bot.core.errors import UserError
from connectors import registry
from storage.db import normalise_url, sqlite_file

GRAPH_VERSION = re.compile(r"^v[0-9]{1,2}\.[0-9]{1,2}$")
BOT_TOKEN_PREFIXES = ("xoxb-", "xoxe.xoxb-")


class ConfigError(UserError):
    """A configuration problem, worded for the person who set the variable."""


# What each variable expects, in the words the error line uses.
EXPECTED: dict[str, str] = {
    "DATABASE_URL": "a SQLAlchemy URL such as sqlite:///twoway.db or postgresql+psycopg://user@host/db",
    "SLACK_BOT_TOKEN": (
        "the bot token (xoxb-..., or xoxe.xoxb-... with token rotation) from your Slack app's "
        "OAuth & Permissions page"
    ),
    "SLACK_SIGNING_SECRET": "the signing secret from your Slack app's Basic Information page",
    "SLACK_APP_TOKEN": "an app-level token (xapp-...) with connections:write, for Socket Mode",
    "SLACK_API_URL": "an http(s) URL ending in /api/, such as https://slack.com/api/",
    "PORT": "a TCP port number from 1 to 65535",
    "TWOWAY_CHANNEL": "a Slack channel id such as C0123456789",
    "TWOWAY_ADMINS": "comma-separated Slack user ids such as U012AB3CD,U045EF6GH",
    "TWOWAY_SECRET_KEY": (
        "one or more random secrets of at least 16 characters, newest first, separated by commas "
        "(they encrypt stored credentials)"
    ),
    "TWOWAY_POLL_SECONDS": "a whole number of seconds from 10 to 86400",
    "TWOWAY_SWEEP_SECONDS": "a whole number of seconds from 1 to 3600",
    "TWOWAY_TAKEOVER_SECONDS": "a whole number of seconds from 1 to 600",
    "TWOWAY_X_FIRST_POLL_HOURS": "a whole number of hours from 1 to 168",
    "TWOWAY_FACEBOOK_LOOKBACK_DAYS": "a whole number of days from 1 to 30",
    "TWOWAY_FACEBOOK_WATCH_DAYS": "a whole number of days from 1 to 3650",
    "TWOWAY_HTTP_TIMEOUT": "a number of seconds from 1 to 120",
    "TWOWAY_SCHEDULER": "true or false",
    "LOG_LEVEL": "one of DEBUG, INFO, WARNING, ERROR",
    "X_API_URL": "an http(s) URL such as https://api.x.com",
    "FACEBOOK_GRAPH_URL": "an http(s) URL such as https://graph.facebook.com",
    "FACEBOOK_GRAPH_VERSION": "a Graph API version such as v25.0",
    "FACEBOOK_PAGE_ID": "the numeric id of the Facebook Page",
    "INSTAGRAM_ACCOUNT_ID": "the numeric id of the Instagram professional account",
    "FACEBOOK_APP_SECRET": "the Meta app's App Secret (App settings > Basic), which signs webhook deliveries",
    "FACEBOOK_VERIFY_TOKEN": "a random string of at least 16 characters, also typed into the app's webhook settings",
    "THREADS_API_URL": "an http(s) URL such as https://graph.threads.net",
    "THREADS_USER_ID": "the numeric id of the Threads profile",
    "BLUESKY_SERVICE_URL": "an http(s) URL such as https://bsky.social",
    "BLUESKY_HANDLE": "the account's handle, such as agencypolice.bsky.social, or its DID",
}


def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+\S*$", value):
        raise ValueError("not an http(s) URL")
    return value


class Settings(BaseSettings):
    """Every setting TwoWay reads from its environment; see `.env.example`."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        populate_by_name=True,
        case_sensitive=False,
    )

    database_url: str = Field("sqlite:///twoway.db", alias="DATABASE_URL")

    slack_bot_token: SecretStr | None = Field(None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(None, alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(None, alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field("https://slack.com/api/", alias="SLACK_API_URL")
    port: int = Field(3000, ge=1, le=65535, alias="PORT")

    twoway_channel: str | None = Field(None, alias="TWOWAY_CHANNEL")
    twoway_admins: Annotated[list[str], NoDecode] = Field(default_factory=list, alias="TWOWAY_ADMINS")
    twoway_secret_key: SecretStr | None = Field(None, alias="TWOWAY_SECRET_KEY")
    twoway_poll_seconds: int = Field(120, ge=10, le=86_400, alias="TWOWAY_POLL_SECONDS")
    sweep_seconds: int = Field(30, ge=1, le=3600, alias="TWOWAY_SWEEP_SECONDS")
    takeover_seconds: int = Field(15, ge=1, le=600, alias="TWOWAY_TAKEOVER_SECONDS")
    x_first_poll_hours: int = Field(24, ge=1, le=168, alias="TWOWAY_X_FIRST_POLL_HOURS")
    facebook_lookback_days: int = Field(3, ge=1, le=30, alias="TWOWAY_FACEBOOK_LOOKBACK_DAYS")
    facebook_watch_days: int = Field(90, ge=1, le=3650, alias="TWOWAY_FACEBOOK_WATCH_DAYS")
    http_timeout: float = Field(10.0, ge=1, le=120, alias="TWOWAY_HTTP_TIMEOUT")
    scheduler_enabled: bool = Field(True, alias="TWOWAY_SCHEDULER")
    log_level: str = Field("INFO", alias="LOG_LEVEL")

    x_api_url: str = Field("https://api.x.com", alias="X_API_URL")
    x_bearer_token: SecretStr | None = Field(None, alias="X_BEARER_TOKEN")
    x_api_key: SecretStr | None = Field(None, alias="X_API_KEY")
    x_api_secret: SecretStr | None = Field(None, alias="X_API_SECRET")
    x_access_token: SecretStr | None = Field(None, alias="X_ACCESS_TOKEN")
    x_access_token_secret: SecretStr | None = Field(None, alias="X_ACCESS_TOKEN_SECRET")

    facebook_graph_url: str = Field("https://graph.facebook.com", alias="FACEBOOK_GRAPH_URL")
    facebook_graph_version: str = Field("v25.0", alias="FACEBOOK_GRAPH_VERSION")
    facebook_page_id: str | None = Field(None, alias="FACEBOOK_PAGE_ID")
    facebook_page_token: SecretStr | None = Field(None, alias="FACEBOOK_PAGE_TOKEN")
    instagram_account_id: str | None = Field(None, alias="INSTAGRAM_ACCOUNT_ID")
    facebook_app_secret: SecretStr | None = Field(None, alias="FACEBOOK_APP_SECRET")
    facebook_verify_token: SecretStr | None = Field(None, alias="FACEBOOK_VERIFY_TOKEN")

    threads_api_url: str = Field("https://graph.threads.net", alias="THREADS_API_URL")
    threads_user_id: str | None = Field(None, alias="THREADS_USER_ID")
    threads_token: SecretStr | None = Field(None, alias="THREADS_TOKEN")

    bluesky_service_url: str = Field("https://bsky.social", alias="BLUESKY_SERVICE_URL")
    bluesky_handle: str | None = Field(None, alias="BLUESKY_HANDLE")
    bluesky_app_password: SecretStr | None = Field(None, alias="BLUESKY_APP_PASSWORD")

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, data: Any) -> Any:
        """A value of only spaces is a copy-paste slip, not a signing secret: treat it as unset."""
        if isinstance(data, dict):
            return {k: v.strip() if isinstance(v, str) else v for k, v in data.items() if not _blank(v)}
        return data

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        # postgres:// and postgresql:// (as Heroku-style hosts set them) become psycopg 3's URL
        # here, so everything that reads the setting sees the URL the engine uses.
        value = normalise_url(value)
        try:
            url = make_url(value)
        except Exception as exc:
            raise ValueError("not a database URL") from exc
        if url.get_backend_name() not in {"sqlite", "postgresql"}:
            raise ValueError("only sqlite and postgresql are supported")
        # The file is what `twoway run` locks to stay the only copy on it: a URL whose file
        # cannot be told is refused here (ValueError), not run unguarded.
        if url.get_backend_name() == "sqlite" and (
            sqlite_file(value) is None or url.query.get("mode") == "memory"
        ):
            raise ValueError("an in-memory SQLite database is lost when TwoWay stops: name a file")
        try:  # a driver that is not installed fails here, in one line, not at the first query
            url.get_dialect().import_dbapi()
        except Exception as exc:
            raise ValueError(f"its driver is not installed ({type(exc).__name__})") from exc
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _slack_api_url(cls, value: str) -> str:
        _http_url(value)
        value = value if value.endswith("/") else value + "/"
        if not value.split("?", 1)[0].endswith("/api/"):  # "https://slack.com": every call a 404
            raise ValueError("not ending in /api/")
        return value

    @field_validator("x_api_url", "facebook_graph_url", "threads_api_url", "bluesky_service_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return _http_url(value).rstrip("/")

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        # An app-level (xapp-) or user (xoxp-) token pasted here would fail every call; the value
        # is never shown (load_settings names the variable only). xoxe.xoxb-: a rotating bot token.
        if value is not None and not value.get_secret_value().startswith(BOT_TOKEN_PREFIXES):
            raise ValueError("not a bot token")
        return value

    @field_validator("twoway_channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        if value is not None and not ids.is_channel_id(value.strip()):
            raise ValueError("not a channel id")
        return value.strip() if value else value

    @field_validator("twoway_admins", mode="before")
    @classmethod
    def _admins(cls, value: Any) -> list[str]:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        users = [str(v).strip() for v in value]
        bad = [v for v in users if not ids.is_user_id(v)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a Slack user id")
        return users

    @field_validator("twoway_secret_key")
    @classmethod
    def _secret_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        keys = split_keys(value.get_secret_value())
        if not keys or any(len(key) < MIN_KEY_LENGTH for key in keys):
            raise ValueError("too short")
        return value

    @field_validator("facebook_verify_token")
    @classmethod
    def _verify_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("too short")
        return value

    @field_validator("facebook_graph_version")
    @classmethod
    def _graph_version(cls, value: str) -> str:
        value = value if value.startswith("v") else "v" + value
        if not GRAPH_VERSION.match(value):
            raise ValueError("not a Graph API version")
        return value

    @field_validator("bluesky_handle")
    @classmethod
    def _handle(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().removeprefix("@")
        if not re.fullmatch(r"(did:[a-z]+:[A-Za-z0-9._:%-]+|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)", value):
            raise ValueError("not a handle")
        return value

    @field_validator("facebook_page_id", "instagram_account_id", "threads_user_id")
    @classmethod
    def _page_id(cls, value: str | None) -> str | None:
        if value is not None and not ids.is_number(value.strip()):  # ASCII digits: "²" is no id
            raise ValueError("not a numeric id")
        return value.strip() if value else value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("unknown level")
        return value

    # -- what the rest of TwoWay asks of the settings -------------------------------------

    @property
    def secret_keys(self) -> list[str]:
        """TWOWAY_SECRET_KEY's keys, newest first; empty when it is unset."""
        return split_keys(self.twoway_secret_key.get_secret_value()) if self.twoway_secret_key else []

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def slack_configured(self) -> bool:
        return self.slack_bot_token is not None

    def require(self, *names: str) -> None:
        """Fail with a clear line when a variable a command needs is unset."""
        for name in names:
            if getattr(self, name.lower(), None) in (None, "", []):
                raise ConfigError(f"{name} is not set: expected {EXPECTED.get(name, 'a value')}")

    def require_whole_platforms(self) -> None:
        """Half a platform's set-up (say two of the four X keys) would otherwise be ignored silently."""
        for spec in registry.PLATFORMS.values():
            for group in spec.env_groups:
                missing = [name for name in group if self.env_value(name) is None]
                if 0 < len(missing) < len(group):
                    # A group with none of the account's own variables is not the account: the
                    # Facebook app secret and verify token are the webhook's.
                    what = (
                        f"{spec.noun} from the environment"
                        if set(group) & set(spec.env_triggers)
                        else f"the {spec.title} webhook"
                    )
                    raise ConfigError(f"{missing[0]} is not set: {what} takes all of {', '.join(group)}")
            for name, needed in spec.env_needs:
                missing = [other for other in needed if self.env_value(other) is None]
                if self.env_value(name) is not None and missing:
                    raise ConfigError(
                        f"{missing[0]} is not set: {spec.noun} from the environment ({name}) is read and"
                        f" answered with {' and '.join(needed)}"
                    )

    def env_value(self, name: str) -> str | None:
        """The value of the variable `name` (secrets unwrapped), None when unset."""
        field = _FIELDS_BY_ALIAS.get(name)
        value = getattr(self, field, None) if field else None
        if isinstance(value, SecretStr):
            return value.get_secret_value()
        return None if value is None else str(value)

    def options(self) -> dict[str, Any]:
        """Every setting that is not a secret, by variable name: what connectors are built from."""
        return {
            alias: getattr(self, name)
            for alias, name in _FIELDS_BY_ALIAS.items()
            if not isinstance(getattr(self, name), SecretStr)
        }

    def require_for_slack(self) -> None:
        """What `twoway run` needs to talk to Slack in the chosen mode."""
        self.require("SLACK_BOT_TOKEN")
        if self.socket_mode:
            token = self.slack_app_token.get_secret_value() if self.slack_app_token else ""
            if not token.startswith("xapp-"):
                raise ConfigError(f"SLACK_APP_TOKEN is malformed: expected {EXPECTED['SLACK_APP_TOKEN']}")
        else:
            self.require("SLACK_SIGNING_SECRET")


_FIELDS_BY_ALIAS = {
    field.alias: name for name, field in Settings.model_fields.items() if isinstance(field.alias, str)
}


def _holds_secret(name: str) -> bool:
    annotation = Settings.model_fields[name].annotation
    return SecretStr in (annotation, *get_args(annotation))  # `SecretStr | None` too


_SECRET_VARIABLES = frozenset(alias for alias, name in _FIELDS_BY_ALIAS.items() if _holds_secret(name))


def is_secret(name: str) -> bool:
    """Whether the variable `name` holds a secret (a token, not an id), set or not."""
    return name in _SECRET_VARIABLES


def _blank(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


def url_secrets(url: str) -> list[str]:
    """What of a database URL must never be shown: its password, read up to the last "@" of
    the address, and any `password=` of its query. A password with an "@" in it (not written
    %40) is cut at the first one by SQLAlchemy, and drivers then print the rest as the host
    name, so every part of it after an "@" counts too (from four characters)."""
    head, _, query = url.partition("?")
    found: list[str] = []
    start = head.find("://") + 3
    if start >= 3 and "@" in head[start:]:
        _user, colon, password = head[start : head.rindex("@")].partition(":")
        if colon and password:
            found += [password, unquote(password)]
            found += [part for part in password.split("@")[1:] if len(part) >= 4]
    for key, value in parse_qsl(query):
        if "password" in key.lower() or key.lower() == "passwd":
            found.append(value)
    return [secret for secret in found if secret]


def _after_at_fragments(url: str) -> list[str]:
    """The parts of a password after each unescaped "@": a driver shows them as "part@host"."""
    head = url.partition("?")[0]
    start = head.find("://") + 3
    if start < 3 or "@" not in head[start:]:
        return []
    password = head[start : head.rindex("@")].partition(":")[2]
    return [part for part in password.split("@")[1:] if part]


def hide_password(text: str, url: str | None = None) -> str:
    """`text` (an error line, or the URL itself) with the password of `url` replaced. A password
    under four characters is masked only where it sits in a URL (replaced everywhere, "pw" would
    garble the rest of the line), and a short part after an "@" only where an "@" follows it,
    as in the host name a driver quotes: no part of the password is ever shown."""
    source = text if url is None else url
    for secret in sorted(set(url_secrets(source)), key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    for part in sorted(set(_after_at_fragments(source)), key=len, reverse=True):
        text = text.replace(f"{part}@", "***@")
    # Up to the last "@" before the path: a password cut at its first "@" is masked whole.
    text = re.sub(r"(://[^:/@\s]*:)[^/\s]*@", r"\1***@", text)
    return re.sub(r"(\*\*\*@)+", "***@", text)


def check_env_file(path: Path = Path(".env")) -> None:
    """`.env` lines python-dotenv cannot read would be skipped with a warning; stop instead."""
    if not path.is_file():
        return

    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text: save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path} cannot be read ({exc.strerror or exc})") from None
    for binding in parse_stream(io.StringIO(text)):
        # A binding's text starts with the blank lines before it; count from its first character.
        string = binding.original.string
        line = binding.original.line + string[: len(string) - len(string.lstrip())].count("\n")
        if binding.error:
            raise ConfigError(f"{path}, line {line}: not NAME=VALUE (check for a missing = or quote)")
        if binding.key is not None and binding.value is None:
            # python-dotenv reads a bare `NAME` as unset: a value lost without a word. The line
            # is named only when it is one of TwoWay's variables: anything else may be a secret
            # pasted onto a line of its own, which must never be printed.
            if binding.key in _FIELDS_BY_ALIAS:
                raise ConfigError(f"{path}, line {line}: not NAME=VALUE ({binding.key} has no =)")
            raise ConfigError(
                f"{path}, line {line}: not NAME=VALUE (no =; a value goes on the line of its NAME=)"
            )


def _field_env_name(loc: tuple[int | str, ...]) -> str:
    name = str(loc[0]) if loc else "configuration"
    field = Settings.model_fields.get(name)
    if field is not None and isinstance(field.alias, str):
        return field.alias
    return name.upper()


def load_settings(**overrides: Any) -> Settings:
    """Build the one Settings object, or raise ConfigError naming the first bad variable."""
    if "_env_file" not in overrides:
        check_env_file()
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = _field_env_name(tuple(error.get("loc", ())))
        given = error.get("input")
        if isinstance(given, str) and name == "DATABASE_URL":
            given = hide_password(given)
        shown = "" if given is None or "SECRET" in name or "TOKEN" in name else f", got {given!r}"
        why = ""
        if name == "DATABASE_URL" and error.get("type") == "value_error":
            why = f" ({str(error.get('msg', '')).removeprefix('Value error, ')})"
        raise ConfigError(
            f"{name} is malformed: expected {EXPECTED.get(name, error.get('msg', 'a valid value'))}{shown}{why}"
        ) from None
