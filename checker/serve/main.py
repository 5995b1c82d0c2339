"""`crimecheck serve`: start-up (migrations, workers, tokens), the demo, the OpenAPI file.

The options are parsed by the command line (checker/cli/main.py); `run_serve` does the work.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType
from typing import TextIO

import orjson
from fastapi import FastAPI

from checker.check.exceptions import Policy, load_policy
from checker.core.errors import CheckerError, Problem
from checker.core.times import utc_now
from checker.rules.loader import default_rules_dir, load_rules
from checker.serve.app import Service, Settings, create_app, incident_row, version_key
from checker.serve.auth import ROLES, digest, load_token_file, new_token
from checker.serve.connections import raise_open_files_limit, timely_protocol
from checker.serve.demo import shifted
from checker.serve.pages import add_pages
from checker.serve.pagestore import PageStore
from checker.serve.store import Store
from checker.serve.workers import Workers

DEFAULT_DATABASE = "crimecheck-serve.db"
DEMO_ROLES = ("system", "supervisor", "FCR")
EXIT_OK = 0  # checker.cli.exits.EXIT_OK, which this layer cannot import


def settings_from(args: argparse.Namespace, database: str) -> Settings:
    """Settings from parsed options."""
    policy = load_policy(args.policy) if args.policy else Policy()
    tokens = load_token_file(args.tokens) if args.tokens else {}
    return Settings(
        database=database,
        rules=args.rules,
        reference=args.reference,
        workers=args.workers,
        max_body=args.max_body,
        timezone=args.timezone,
        store_narrative=args.store_narrative,
        policy=policy,
        token_file=tokens,
    )


def start(settings: Settings) -> Service:
    """Load the rules, migrate the database and start the workers."""
    ruleset = load_rules(settings.rules, settings.reference)
    store = Store(settings.database)
    store.migrate()
    workers = Workers(settings.workers, settings.rules, settings.reference)
    workers.warm()
    return Service(settings, ruleset, store, workers)


def load_demo(service: Service, files: list[Path]) -> int:
    """Check and store sample incidents, moved to the present (as version 1 where they carry none); returns how many."""
    now = utc_now()
    stored = 0
    for index, path in enumerate(files):
        data = shifted(orjson.loads(path.read_bytes()), now, index)
        data.setdefault("version", 1)
        checked = service.workers.check(orjson.dumps(data), now, service.settings.timezone, True).result()
        if checked.rejected:
            raise CheckerError([Problem(f"sample incident not valid: {checked.rejected[0][1][0]}", file=str(path))])
        incident = checked.incidents[0]
        row = incident_row(service, incident, checked.results[0], checked.warnings, version_key(incident), now)
        stored += service.store.put(row)
        PageStore(service.store).add_check(incident.incident_id, now, row.key, "stored", orjson.loads(row.document))
    return stored


def run_serve(args: argparse.Namespace, out: TextIO) -> int:
    """`crimecheck serve`: start the service (or add a token, or write the OpenAPI file)."""
    if args.write_openapi:
        write_openapi(args.write_openapi)
        print(f"wrote {args.write_openapi}", file=out)
        return EXIT_OK
    if args.demo:
        # a throwaway database, removed when the service stops
        with tempfile.TemporaryDirectory(prefix="crimecheck-demo-") as tmp:
            return _serve(args, str(Path(tmp) / "demo.db"), out)
    database = args.database or DEFAULT_DATABASE
    if args.remove_token:
        store = Store(database)
        store.migrate()
        found = store.remove_token(args.remove_token)
        store.close()
        if not found:
            raise CheckerError([Problem(f"no token named {args.remove_token!r} in {store.where}")])
        print(f"removed token {args.remove_token}; it is refused from the next request", file=out)
        return EXIT_OK
    if args.add_token:
        if not args.role:
            raise CheckerError([Problem("--add-token needs --role (one of " + ", ".join(ROLES) + ")")])
        store = Store(database)
        store.migrate()
        token = new_token()
        store.add_token(args.add_token, args.role, digest(token))
        store.close()
        print(
            f"token for {args.add_token} ({args.role}), shown once; only its hash is kept in {store.where}:", file=out
        )
        print(token, file=out)
        return EXIT_OK
    return _serve(args, database, out)


def _serve(args: argparse.Namespace, database: str, out: TextIO) -> int:
    """Start the service on `database` and serve until stopped."""
    import uvicorn

    settings = settings_from(args, database)
    _log_to(sys.stderr)
    raise_open_files_limit()  # each connection is an open file (checker.serve.connections)
    # uvicorn stops gracefully on SIGINT or SIGTERM and then raises the signal again; these
    # handlers turn that into a return, so that the workers stop and the demo's database goes
    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    service: Service | None = None
    try:
        service = start(settings)
        url = f"http://{args.host}:{args.port}"
        if args.demo:
            files = sorted((default_rules_dir().parent / "fixtures" / "incidents").glob("*.json"))
            count = load_demo(service, files)
            print(f"crimecheck demo: {count} sample incidents in {database}", file=out)
            for role in DEMO_ROLES:
                token = new_token()
                service.store.add_token(f"demo-{role}", role, digest(token))
                print(f"  {role:<10} token: {token}", file=out)
        print(f"crimecheck serving on {url} (database {service.store.where}; Ctrl-C stops)", file=out, flush=True)
        if args.demo:
            page = f"  the supervisors' page: open {url}/ and sign in with the supervisor or FCR token"
            print(page, file=out, flush=True)
        config = uvicorn.Config(
            with_page(service),
            host=args.host,
            port=args.port,
            access_log=False,
            log_config=None,
            log_level="warning",
            http=timely_protocol(args.request_timeout),
        )
        uvicorn.Server(config).run()
    except _Stopped:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if service is not None:
            service.workers.close()
            service.store.close()
    return EXIT_OK


def with_page(service: Service) -> FastAPI:
    """The API and, at `/`, the supervisors' page (outside the OpenAPI document)."""
    app = create_app(service)
    add_pages(app, service)
    return app


class _Stopped(Exception):
    """SIGINT or SIGTERM arrived: stop serving, and clean up."""


def _stop(sig: int, frame: FrameType | None) -> None:
    raise _Stopped


def _log_to(stream: TextIO) -> None:
    """The service's own access log (by route, never by content) on `stream`; uvicorn's is off."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    for name in ("crimecheck.access", "uvicorn.error"):
        log = logging.getLogger(name)
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def openapi_document() -> bytes:
    """The OpenAPI document the service serves at /openapi.json, as docs/openapi.json holds it."""
    ruleset = load_rules()
    settings = Settings(database=":memory:")
    # a pool starts no process until it is given work, and describing the API gives it none
    workers = Workers(1, None, None)
    try:
        spec = create_app(Service(settings, ruleset, Store(settings.database), workers)).openapi()
    finally:
        workers.close()
    return orjson.dumps(spec, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def write_openapi(path: Path) -> None:
    """Write the OpenAPI document to a file."""
    path.write_bytes(openapi_document())
