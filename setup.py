"""Only for what pyproject.toml cannot say: ship sample_data/ as the ``mcrage_samples``
package, so `mcrage dashboard` from a plain `pip install` offers the two sample tables."""

from setuptools import find_namespace_packages, setup

setup(
    packages=find_namespace_packages(include=["mcrage_core*", "dashboard*"]) + ["mcrage_samples"],
    package_dir={"mcrage_samples": "sample_data"},
)
