"""What every benchmark records beside its figures: the machine, versions, percentiles."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    with contextlib.suppress(OSError):
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split(":", 1)[1].strip()
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory": mem,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
    }


def versions(*packages: str) -> dict:
    out = {}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def percentiles(samples_ms: list[float]) -> dict:
    s = sorted(samples_ms)
    q = statistics.quantiles(s, n=100, method="inclusive") if len(s) > 1 else s * 99
    return {
        "n": len(s),
        "p50_ms": round(q[49], 3),
        "p95_ms": round(q[94], 3),
        "p99_ms": round(q[98], 3),
        "mean_ms": round(statistics.fmean(s), 3),
    }


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def write(name: str, payload: dict, out: Path | None = None) -> Path:
    path = out or RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path


def git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


# Servers run with authentication on (issue 7): the admin key of the server at each address.
API_KEYS: dict[str, str] = {}
# A benchmark is a flood by design: no per-key rate limit unless a benchmark sets one.
NO_RATE_LIMIT = {"RAPPORT_AUTH_RATE_LIMIT_PER_S": "0"}


def create_admin_key(env: dict) -> str:
    """`rapport keys create --role admin` against the store `env` points at."""
    rapport = str(Path(sys.executable).with_name("rapport"))
    out = subprocess.run(
        [rapport, "--json", "keys", "create", "--role", "admin", "--label", "bench"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)["key"]


def channel(address: str, options=()):
    """A channel to a benchmark server that sends its admin key on every call."""
    from rapport.services.common.channels import open_channel

    return open_channel(address, API_KEYS.get(address, ""), options=options)


def _contact_keys() -> dict[str, str]:
    """One set of contact-detail keys for benchmark stores (unless configured), in this
    process's environment and every server's: a benchmark that seeds through its own
    `Database` and reads through a server must seal and open with the same keys. Kept in
    the temp directory so that stores kept by one run (`--keep`) open in the next."""
    import secrets

    from rapport.core.crypto import generate_key

    path = Path(tempfile.gettempdir()) / "rapport-bench-contact-keys.json"
    if not path.exists():
        fresh = {
            "RAPPORT_ENCRYPTION_KEYS": generate_key(),
            "RAPPORT_LOOKUP_KEY": secrets.token_urlsafe(32),
        }
        path.write_text(json.dumps(fresh))
        path.chmod(0o600)
    stored = json.loads(path.read_text())
    for name, value in stored.items():
        os.environ.setdefault(name, value)
    return {k: os.environ[k] for k in ("RAPPORT_ENCRYPTION_KEYS", "RAPPORT_LOOKUP_KEY")}


CONTACT_KEYS = _contact_keys()


def clean_env() -> dict[str, str]:
    """This process's environment without its RAPPORT_* settings, plus the run's contact
    keys: what every `rapport` subprocess of a benchmark starts from."""
    return {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")} | CONTACT_KEYS


class Server:
    """`rapport serve` in a subprocess on a free port, with its own home and database."""

    def __init__(self, home: Path, url: str, **settings: str) -> None:
        self.env = clean_env()
        self.env |= {
            "RAPPORT_HOME": str(home),
            "RAPPORT_DATABASE_URL": url,
            "RAPPORT_LOG_LEVEL": "WARNING",
            "HF_HUB_OFFLINE": "1",
        }
        self.env |= NO_RATE_LIMIT
        self.env |= {f"RAPPORT_{k.upper()}": v for k, v in settings.items()}
        rapport = str(Path(sys.executable).with_name("rapport"))
        subprocess.run(
            [rapport, "db", "upgrade"], env=self.env, check=True, stdout=subprocess.DEVNULL
        )
        self.api_key = create_admin_key(self.env)
        self.proc = subprocess.Popen(
            [rapport, "serve", "--port", "0"], env=self.env, stdout=subprocess.PIPE, text=True
        )
        line = self.proc.stdout.readline()
        self.address = "127.0.0.1:" + line.rsplit(":", 1)[1].strip()
        API_KEYS[self.address] = self.api_key

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)
