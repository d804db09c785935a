"""The generated-module contract (symnoether/numeric/contract.py) against a freshly generated
module, member by member: names, types of the constants, signatures and output shapes."""

import dataclasses
import functools
import inspect
import typing

import jax
import jax.numpy as jnp
import pytest
from handwritten import kepler_contract
from systems import kepler

import symnoether as sn
from symnoether.numeric.contract import (
    OPTIONAL,
    GeneratedModule,
    GeneratedModuleWithKnownLagrangian,
    GeneratedModuleWithLagrangian,
    check_module,
    members,
)

PROTOCOLS = (GeneratedModule, GeneratedModuleWithLagrangian, GeneratedModuleWithKnownLagrangian)
ALL = [(protocol, name) for protocol in PROTOCOLS for name in members(protocol)]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    # Kepler with a known kinetic part, so that every optional member is generated too.
    system = kepler()
    kinetic = sum(v**2 for v in system.coordinates.qdot) / 2
    system = dataclasses.replace(system, known_lagrangian=kinetic)
    return sn.generate(system, tmp_path_factory.mktemp("contract") / "kepler_model.py")


def _is_instance(value, annotation) -> bool:
    # The few annotations the contract's constants use: str, bool, tuple[T, ...], dict[K, V].
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is tuple:
        return isinstance(value, tuple) and all(_is_instance(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and all(
            _is_instance(k, args[0]) and _is_instance(v, args[1]) for k, v in value.items()
        )
    if annotation is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, annotation)


def _shapes(annotation, sizes) -> object:
    # The shape a jaxtyping annotation asks for, e.g. Float[Array, "m n"] -> (M, n).
    if typing.get_origin(annotation) is tuple:
        return tuple(_shapes(a, sizes) for a in typing.get_args(annotation))
    return tuple(sizes[d] for d in annotation.dim_str.split())


def _call(module, name):
    function = getattr(module, name)
    parameters = list(inspect.signature(function).parameters)
    if parameters[0] == "lagrangian":
        function, parameters = functools.partial(function, module.lagrangian), parameters[1:]
    state = {"q": jnp.array([1.0, 0.2, -0.3]), "qdot": jnp.array([0.1, 0.9, 0.2])}
    return jax.jit(function)(*(state[p] for p in parameters))


@pytest.mark.parametrize("protocol, name", ALL, ids=[name for _, name in ALL])
def test_generated_module_follows_the_protocol(generated, protocol, name):
    assert hasattr(generated, name), f"the generated module lacks {name}"
    value = getattr(generated, name)
    hints = typing.get_type_hints(protocol)
    if name in hints:  # a constant
        assert _is_instance(value, hints[name]), (name, value, hints[name])
        return
    declared = inspect.signature(getattr(protocol, name))
    parameters = [p for p in declared.parameters if p != "self"]
    assert list(inspect.signature(value).parameters) == parameters, name
    sizes = {"n": len(generated.COORDINATE_NAMES), "m": len(generated.INVARIANT_NAMES),
             "k": len(generated.CHARGE_NAMES)}  # fmt: skip
    got = jax.tree.map(lambda x: tuple(x.shape), _call(generated, name))
    if isinstance(got, list):
        got = tuple(got)
    assert got == _shapes(declared.return_annotation, sizes), name


def test_the_protocol_names_every_public_member_of_a_generated_module(generated):
    public = {name for name in vars(generated) if not name.startswith("_")} - {"jax", "jnp"}
    assert public == {name for _, name in ALL}


def test_check_module_insists_on_all_but_the_optional_members():
    assert OPTIONAL < set(members(GeneratedModule))
    assert check_module(kepler_contract, need_lagrangian=True) is kepler_contract
