"""The one compiled module (optional): everything else is in pyproject.toml.

`coverage_collector.covdata._speedups` makes `covdata` faster than Go's on big data. A
machine without a C compiler still installs the package (`optional=True`): `covdata`
then takes its Python paths, which give the same bytes (see covdata/speedups.py).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "coverage_collector.covdata._speedups",
            sources=["src/coverage_collector/covdata/_speedups.c"],
            extra_compile_args=["-O2"],
            optional=True,
        )
    ]
)
