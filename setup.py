"""Spikey: batched spiking neural network experiments with Ray."""
from setuptools import find_packages, setup

setup(
    name="spikey",
    version="0.1.0",
    description="Spiking neural network experiments: batched engine, games, Ray Train/Tune, genetic search.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["spikey", "spikey.*"]),
    install_requires=[
        "numba==0.68.1",
        "numpy>=1.24",
        "pandas>=2.0",
        "pyarrow>=14",
        # A CPU build is what the project's machines carry; an open range pulls a multi-GB CUDA build.
        "torch==2.13.0",
        "ray[default,train,tune]==2.60.0",
        "gymnasium>=1.0",
        "scikit-learn>=1.3",
        "matplotlib>=3.7",
        "pyyaml>=6",
        "tqdm>=4.60",
    ],
    entry_points={"console_scripts": ["spikey=spikey.cli:main"]},
    extras_require={
        "dev": ["pytest>=8", "nbclient>=0.10", "nbformat>=5.10", "ipykernel>=6", "hypothesis>=6.100"],
    },
)
