#!/usr/bin/env python3
"""The real sky-driver under a stand-in for systemd: NOTIFY_SOCKET names a
datagram socket in a fresh temporary folder, WATCHDOG_USEC asks for pings
every 0.25 s (a quarter of 1 s); the driver must say READY=1 first, then keep
sending WATCHDOG=1 while its frame loop turns (no frame file: it polls), and
stop cleanly on SIGTERM. Waits on the messages themselves, with a generous
safety net, never on a guessed duration."""
import os, signal, socket, subprocess, sys, tempfile

driver = sys.argv[1]
SAFETY_NET_S = 300
with tempfile.TemporaryDirectory(prefix="sky-notify-driver-") as tmp:
    path = os.path.join(tmp, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(SAFETY_NET_S)
    # The driver's pid must be WATCHDOG_PID: start it through a shell that execs.
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="1000000")
    cmd = ["sh", "-c", 'WATCHDOG_PID=$$ exec "$0" "$@"', driver, "--out", "null://",
           "--frame", os.path.join(tmp, "absent-frame"), "--stats", "0"]
    proc = subprocess.Popen(cmd, env=env)
    try:
        messages = []
        while messages.count("WATCHDOG=1") < 3:
            data, _ = sock.recvfrom(256)
            messages.append(data.decode())
        if messages[0] != "READY=1" or messages.count("READY=1") != 1:
            sys.exit(f"FAIL: expected READY=1 once and first, got {messages}")
        others = [m for m in messages if m not in ("READY=1", "WATCHDOG=1")]
        if others:
            sys.exit(f"FAIL: unexpected messages {others}")
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(SAFETY_NET_S)
    if code != 0:
        sys.exit(f"FAIL: sky-driver exited with {code} after SIGTERM")
    print(f"service_notify_driver: {messages}")
