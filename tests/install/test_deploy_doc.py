#!/usr/bin/env python3
"""Every driver config in docs/deploy-pi.md is one sky-driver accepts: each
```ini block goes through `sky-driver --config FILE --check`. The Pi's SPI
devices are not here, so spi:///dev/spidevB.C becomes a plain file in a
temporary folder (the driver writes to a plain file what it would send to
the device) with spidev's default bufsiz given, which sysfs would say."""
import os, re, subprocess, sys, tempfile

driver, doc = sys.argv[1], sys.argv[2]
text = open(doc, encoding="utf-8").read()
blocks = re.findall(r"```ini\n(.*?)```", text, re.S)
if len(blocks) < 3:
    sys.exit(f"FAIL: expected the 3 driver configs (DDP, sACN, SPI) in {doc}, found {len(blocks)}")
with tempfile.TemporaryDirectory(prefix="sky-deploy-doc-") as tmp:
    def to_file(m):
        path = os.path.join(tmp, m.group(1))
        open(path, "wb").close()
        return f"spi://{path}?bufsiz=4096&"
    failed = 0
    for i, block in enumerate(blocks):
        config = re.sub(r"spi:///dev/(spidev[0-9]+\.[0-9]+)\?", to_file, block)
        path = os.path.join(tmp, f"config{i}.ini")
        with open(path, "w", encoding="utf-8") as f:
            f.write(config)
        r = subprocess.run([driver, "--config", path, "--check", "--frame", os.path.join(tmp, "none")],
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            failed += 1
            print(f"FAIL: config {i + 1} of {doc}:\n{config}\n{r.stdout}{r.stderr}")
    if failed:
        sys.exit(1)
print(f"install_deploy_doc: {len(blocks)} driver configs of deploy-pi.md pass sky-driver --check")
