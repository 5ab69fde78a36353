#!/usr/bin/env bash
# Regenerates src/ptocr/formats/paddle_framework_pb2.py from paddle_framework.proto.
# The runtime-version guard that protoc writes is dropped: the module only uses builder APIs that
# protobuf has had since 3.20, and the guard would otherwise pin users to protoc's exact release.
set -euo pipefail
cd "$(dirname "$0")/../src/ptocr/formats"
python -m grpc_tools.protoc -I. --python_out=. paddle_framework.proto
python - <<'PY'
import re, pathlib
p = pathlib.Path("paddle_framework_pb2.py")
text = p.read_text()
text = re.sub(r"from google\.protobuf import runtime_version as _runtime_version\n", "", text)
text = re.sub(r"_runtime_version\.ValidateProtobufRuntimeVersion\([^)]*\)\n", "", text)
p.write_text(text)
PY
