"""Starts the `petrel serve` the tests run against (PETREL_BIN) on free ports in a scratch
data dir, and stops it at the end. The ports stay the same across `kill9_and_restart`, so
clients reconnect to the restarted broker."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

PETREL = os.environ["PETREL_BIN"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="python-compat.")
        ns, broker, grpc = free_port(), free_port(), free_port()
        self.namesrv = f"127.0.0.1:{ns}"
        self.broker = f"127.0.0.1:{broker}"
        self.grpc = f"127.0.0.1:{grpc}"
        self.log = open(os.path.join(self.dir, "petrel.log"), "ab")
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            [PETREL, "serve", "--data-dir", os.path.join(self.dir, "data"),
             "--namesrv-listen", self.namesrv, "--broker-listen", self.broker,
             "--grpc-listen", self.grpc, "--console-listen", "off",
             "--set", "flushConsumerOffsetInterval=200"],
            stdout=self.log, stderr=self.log)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"petrel exited with {self.proc.returncode}; see {self.log.name}")
            r = subprocess.run([PETREL, "admin", "clusterList", "-n", self.namesrv],
                               capture_output=True, text=True)
            if self.broker.split(":")[1] in r.stdout:
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", int(self.grpc.split(":")[1]))) == 0:
                        return
            time.sleep(0.1)
        raise RuntimeError("petrel did not start in 60 s")

    def kill9_and_restart(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.start()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()

    def tail(self, n=30):
        with open(self.log.name, "rb") as f:
            return b"".join(f.readlines()[-n:]).decode(errors="replace")


SERVER = Server()


def pytest_sessionfinish(session, exitstatus):
    if exitstatus != 0:
        print("\n--- petrel log tail ---\n" + SERVER.tail())
    SERVER.stop()
    shutil.rmtree(SERVER.dir, ignore_errors=True)
