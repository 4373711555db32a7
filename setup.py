"""Only what pyproject.toml cannot say: the blueprint library lives in the repository's
top-level `blueprints/` folder and ships inside the package as `netgen/blueprints/`
(found at run time by `netgen.library.root()`). Declaring that mapping needs the package
list spelled out, which `packages.find` in pyproject.toml cannot extend."""

from setuptools import find_namespace_packages, setup

setup(
    # namespace packages too: netgen/cli/ has no __init__.py
    packages=[*find_namespace_packages(include=["netgen", "netgen.*"], exclude=["*.__pycache__"]),
              "netgen.blueprints", "netgen.blueprints.lib"],
    package_dir={"netgen.blueprints": "blueprints"},
    package_data={"netgen": ["py.typed"], "netgen.blueprints": ["*.yaml", "netgen.schema.json"],
                  "netgen.blueprints.lib": ["*.yaml"]},
)
