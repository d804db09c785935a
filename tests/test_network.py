"""The Lagrangian network: chain-rule acceleration, charges, dtypes, options and errors."""

import json
import subprocess
import sys
import types
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from handwritten import kepler_contract, two_particle_2d_contract, two_particle_4d_contract
from systems import random_states

from symnoether.numeric import dynamics
from symnoether.numeric.network import LagrangianNetwork, check_module

MODULES = [kepler_contract, two_particle_2d_contract, two_particle_4d_contract]
# The layer configurations the reference's trained models record (Keras Dense layers).
REFERENCE_LAYERS = json.loads(
    (Path(__file__).parent / "fixtures" / "reference_layers.json").read_text()
)["models"]
ids = lambda m: m.SYSTEM_NAME  # noqa: E731


def _states(module, count=4, seed=0, dtype=np.float64):
    return random_states(len(module.COORDINATE_NAMES), count, seed, dtype)


def _lifted_generators(module, q, qdot):
    # X_a = xi_a . d/dq + (dxi_a/dq qdot) . d/dqdot, as tangents (xi, xi').
    xi, xi_dot = jax.jvp(module.generators, (q,), (qdot,))
    return xi, xi_dot


@pytest.mark.parametrize("module", MODULES[1:], ids=ids)
def test_handwritten_contract_is_consistent(module):
    # The test stand-ins must themselves be right: derivatives and invariance.
    q, qdot = (x[0] for x in _states(module))

    @jax.jit
    def residuals(q, qdot):
        s, ds_dq, ds_dqdot, d2s, mixed = module.invariant_derivatives(q, qdot)
        jq, jv = jax.jacfwd(module.invariants, argnums=(0, 1))(q, qdot)
        hv = jax.jacfwd(jax.jacfwd(module.invariants, 1), 1)(q, qdot)
        hqv = jax.jacfwd(jax.jacfwd(module.invariants, 1), 0)(q, qdot) @ qdot
        xi, xi_dot = _lifted_generators(module, q, qdot)
        x_s = jax.vmap(lambda a, b: jax.jvp(module.invariants, (q, qdot), (a, b))[1])(xi, xi_dot)
        diffs = (s - module.invariants(q, qdot), ds_dq - jq, ds_dqdot - jv, d2s - hv, mixed - hqv)
        return [jnp.max(jnp.abs(d)) for d in diffs] + [jnp.max(jnp.abs(x_s))]

    np.testing.assert_allclose(residuals(q, qdot), 0, atol=1e-12)


@pytest.mark.parametrize(
    "module, init",
    [
        (kepler_contract, "default"),
        (two_particle_2d_contract, "default"),
        (two_particle_4d_contract, "reference"),
        (two_particle_2d_contract, "glorot"),
        (kepler_contract, "cranmer"),
    ],  # fmt: skip
    ids=lambda x: getattr(x, "SYSTEM_NAME", x),
)
def test_chain_rule_acceleration_equals_autodiff(module, init):
    model = LagrangianNetwork(module, init=init, dtype=jnp.float64, key=jax.random.key(1))
    q, qdot = _states(module)

    def hessian_acceleration(q, qdot):
        # Straight from the full jax.hessian of L(q, qdot), as Cranmer et al. do.
        n = q.shape[0]
        x = jnp.concatenate([q, qdot])
        h = jax.hessian(lambda x: model(x[:n], x[n:]))(x)
        g = jax.grad(lambda x: model(x[:n], x[n:]))(x)
        return jnp.linalg.solve(h[n:, n:], g[:n] - h[n:, :n] @ qdot), h[n:, n:]

    @jax.jit
    def accelerations(q, qdot):
        chain = jax.vmap(lambda a, b: (model.acceleration(a, b), model.velocity_hessian(a, b)))
        generic = jax.vmap(lambda a, b: dynamics.acceleration(model, a, b))
        return chain(q, qdot), jax.vmap(hessian_acceleration)(q, qdot), generic(q, qdot)

    (got, got_hessian), (want, want_hessian), generic = accelerations(q, qdot)
    atol = 1e-10 * np.max(np.abs(want))
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=atol)
    np.testing.assert_allclose(generic, want, rtol=1e-10, atol=atol)
    np.testing.assert_allclose(got_hessian, want_hessian, rtol=1e-10, atol=1e-12)


# Classical RK4 as a Butcher tableau, so that the compiled step holds one acceleration
# instead of four (compilation, not running, is what costs here).
_RK4_A = np.array([[0, 0, 0, 0], [0.5, 0, 0, 0], [0, 0.5, 0, 0], [0, 0, 1, 0]])
_RK4_B = np.array([1, 2, 2, 1]) / 6


def _rk4_step(acceleration, q, v, dt):
    a, b = jnp.asarray(_RK4_A, q.dtype), jnp.asarray(_RK4_B, q.dtype)

    def stage(i, k):
        kq, kv = k
        qi, vi = q + dt * a[i] @ kq, v + dt * a[i] @ kv
        return kq.at[i].set(vi), kv.at[i].set(acceleration(qi, vi))

    zeros = jnp.zeros((4, *q.shape), q.dtype)
    kq, kv = jax.lax.fori_loop(0, 4, stage, (zeros, zeros))
    return q + dt * b @ kq, v + dt * b @ kv


def _rk4_charges(model, q0, qdot0, dt, steps):
    # An accurate RK4 of the model's own dynamics, returning the charges along it.
    def step(state, _):
        state = _rk4_step(model.acceleration, *state, dt)
        return state, model.charges(*state)

    _, charges = jax.lax.scan(step, (q0, qdot0), length=steps)
    return jnp.concatenate([model.charges(q0, qdot0)[None], charges])


def test_untrained_invariant_network_conserves_charges():
    # Two particles in 2D: translations and a rotation, so momenta and angular momentum.
    module = two_particle_2d_contract
    q0, qdot0 = (x[0] for x in _states(module, seed=3))
    drift = {}
    for invariant in (True, False):
        model = LagrangianNetwork(
            module, invariant=invariant, width=32, dtype=jnp.float64, key=jax.random.key(2)
        )
        charges = eqx.filter_jit(_rk4_charges)(model, q0, qdot0, 1e-3, 300)
        assert np.all(np.isfinite(charges))
        drift[invariant] = np.max(np.abs(charges - charges[0])) / np.max(np.abs(charges[0]))
    # RK4's own error bounds the invariant network's drift; the baseline's is O(1).
    assert drift[True] < 1e-8
    assert drift[False] > 1e-4


def test_float32_stays_float32_and_module_is_static():
    model = LagrangianNetwork(kepler_contract, width=8, key=jax.random.key(0))
    assert model.dtype == jnp.float32
    params, static = eqx.partition(model, eqx.is_array)
    assert static.module is kepler_contract
    assert all(isinstance(leaf, jax.Array) for leaf in jax.tree.leaves(params))
    q, qdot = _states(kepler_contract, dtype=np.float32)

    # The model goes through filter_jit as an argument: the module rides along as static.
    @eqx.filter_jit
    def outputs(model, q, qdot):
        def one(a, b):
            return (
                model(a, b), model.acceleration(a, b), model.charges(a, b), model.energy(a, b),
                model.hessian_condition(a, b),
            )  # fmt: skip

        return jax.vmap(one)(q, qdot)

    out = outputs(model, q, qdot)
    assert [x.shape for x in out] == [(4,), (4, 3), (4, 3), (4,), (4,)]
    assert all(x.dtype == jnp.float32 for x in out)


def test_unconstrained_network_has_the_same_api():
    module = two_particle_2d_contract
    model = LagrangianNetwork(module, invariant=False, width=8, key=jax.random.key(0))
    assert model.mlp.in_size == 2 * len(module.COORDINATE_NAMES)
    q, qdot = (x[0] for x in _states(module, dtype=np.float32))

    @jax.jit
    def outputs(q, qdot):
        return (
            model(q, qdot), model.acceleration(q, qdot), model.charges(q, qdot),
            model.velocity_hessian(q, qdot),
        )  # fmt: skip

    assert [x.shape for x in outputs(q, qdot)] == [(), (4,), (3,), (4, 4)]


def _pooled_weights(module, invariant, init, seeds=16, **kwargs):
    # Each layer's weights and biases over several seeds; the standard deviation of a
    # pooled layer then has a relative error of about 1 / sqrt(2 * count): under 1.6% here.
    models = [
        LagrangianNetwork(module, invariant=invariant, init=init, key=jax.random.key(seed),
                          **kwargs)
        for seed in range(seeds)
    ]  # fmt: skip
    layers = zip(*(model.mlp.layers for model in models), strict=True)
    return [([np.asarray(x.weight) for x in layer], [x.bias for x in layer]) for layer in layers]


def test_the_reference_records_one_layer_configuration():
    # Every trained model of the reference (Kepler, Schwarzschild, two particles; invariant
    # and not) records the same three layers, up to the input size: matching a few of them
    # below matches them all.
    def without_input(layers):
        return [{**layer, "weight_shapes": layer["weight_shapes"][1:]} for layer in layers]

    configurations = [without_input(layers) for layers in REFERENCE_LAYERS.values()]
    assert len(configurations) == 9
    assert all(c == configurations[0] for c in configurations)


@pytest.mark.parametrize(
    "name, module, invariant",
    [
        ("kepler/nn_lagrangian_rot", kepler_contract, True),
        ("kepler/nn_lagrangian", kepler_contract, False),
        ("two_particle/4d/nn_lagrangian_rot_trans", two_particle_4d_contract, True),
    ],
    ids=["kepler", "kepler-unconstrained", "two_particles_4d"],
)
def test_reference_init_draws_as_the_reference_records(name, module, invariant):
    records = REFERENCE_LAYERS[name]
    pooled = _pooled_weights(module, invariant, "reference")
    assert len(pooled) == len(records)
    for record, (weights, biases) in zip(records, pooled, strict=True):
        config, kernel = record["config"], record["weight_shapes"][0]
        assert record["class"].endswith("Dense") and config["activation"] in ("softplus", "linear")
        initializer = config["kernel_initializer"]
        assert initializer["class_name"] == "RandomNormal"
        assert all(w.shape == (kernel[1], kernel[0]) for w in weights)  # Keras' is (in, out)
        x = np.concatenate([w.ravel() for w in weights]).astype(np.float64)
        sigma = initializer["config"]["stddev"]
        np.testing.assert_allclose(x.std(), sigma, rtol=0.05)
        assert abs(x.mean() - initializer["config"]["mean"]) < 4 * sigma / np.sqrt(x.size)
        # Normal, not uniform (kurtosis 1.8) or truncated: the fourth moment is 3 sigma^4.
        np.testing.assert_allclose(np.mean(x**4) / x.var() ** 2, 3.0, rtol=0.1)
        if config["use_bias"]:
            assert config["bias_initializer"]["class_name"] == "Zeros"
            assert all(b.shape == (config["units"],) and np.all(b == 0) for b in biases)
        else:
            assert all(b is None for b in biases)


@pytest.mark.parametrize("depth, sigmas, rtol", [
    (3, [2 / 16**0.5, 1 / 16**0.5, 1 / 16**0.5, 16**0.5], 0.1),  # further hidden: 1/sqrt(w)
    (0, [3**0.5], 0.25),  # no hidden layer: the output rule, sqrt of the 3 inputs (96 draws)
])  # fmt: skip
def test_reference_init_at_other_depths(depth, sigmas, rtol):
    pooled = _pooled_weights(kepler_contract, True, "reference", seeds=32, width=16,
                             depth=depth)  # fmt: skip
    stds = [np.concatenate([w.ravel() for w in weights]).std() for weights, _ in pooled]
    np.testing.assert_allclose(stds, sigmas, rtol=rtol)
    assert pooled[-1][1][0] is None


def test_cranmer_init_scales():
    model = LagrangianNetwork(kepler_contract, init="cranmer", key=jax.random.key(0))
    layers = model.mlp.layers
    assert all(np.all(layer.bias == 0) for layer in layers[:-1])
    assert layers[-1].bias is None
    # sigma = 2.2/sqrt(128) (first), 0.58/sqrt(128) (hidden), sqrt(128) (output).
    stds = [float(jnp.std(layer.weight)) for layer in layers]
    np.testing.assert_allclose(stds, [2.2 / 128**0.5, 0.58 / 128**0.5, 128**0.5], rtol=0.25)


def test_glorot_init_is_the_keras_default():
    # Keras' Dense default (not the reference's): U(-a, a) weights with
    # a = sqrt(6 / (fan_in + fan_out)), zero biases.
    model = LagrangianNetwork(kepler_contract, init="glorot", key=jax.random.key(0))
    layers = model.mlp.layers
    assert all(np.all(layer.bias == 0) for layer in layers[:-1])
    for layer in layers:
        fan_out, fan_in = layer.weight.shape
        limit = (6 / (fan_in + fan_out)) ** 0.5
        assert float(jnp.max(jnp.abs(layer.weight))) <= limit
        # A uniform on (-a, a) has standard deviation a / sqrt(3).
        np.testing.assert_allclose(float(jnp.std(layer.weight)), limit / 3**0.5, rtol=0.2)


def _flat_model(**kwargs):
    # Zero output weights: L = 0, so d2L/dqdot2 = 0 at every state.
    model = LagrangianNetwork(kepler_contract, width=8, key=jax.random.key(0), **kwargs)
    last = model.mlp.layers[-1]
    return eqx.tree_at(lambda m: m.mlp.layers[-1].weight, model, jnp.zeros_like(last.weight))


def test_ill_conditioned_states_are_counted_or_raise():
    q, qdot = _states(kepler_contract, count=6, dtype=np.float32)
    model = LagrangianNetwork(kepler_contract, width=8, key=jax.random.key(0))
    count = eqx.filter_jit(lambda m, q, qdot: m.count_ill_conditioned(q, qdot))
    assert int(count(model, q, qdot)) == 0
    assert int(count(_flat_model(), q, qdot)) == 6
    # Unchecked, a singular d2L/dqdot2 gives non-finite accelerations (training then stops
    # with TrainingDivergedError); with max_condition it raises at once.
    accelerate = eqx.filter_jit(lambda m, q, qdot: m.acceleration(q[0], qdot[0]))
    assert not np.all(np.isfinite(accelerate(_flat_model(), q, qdot)))
    with pytest.raises(eqx.EquinoxRuntimeError, match="d2L/dqdot2 is singular"):
        accelerate(_flat_model(max_condition=1e4), q, qdot)


def test_invalid_arguments():
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="unknown init 'xavier'"):
        LagrangianNetwork(kepler_contract, init="xavier", key=key)
    with pytest.raises(ValueError, match="unknown mass_solve 'inv'"):
        LagrangianNetwork(kepler_contract, mass_solve="inv", key=key)
    with pytest.raises(ValueError, match="unknown activation 'relu'"):
        LagrangianNetwork(kepler_contract, activation="relu", key=key)
    with pytest.raises(ValueError, match="need width >= 1"):
        LagrangianNetwork(kepler_contract, width=0, key=key)
    with pytest.raises(TypeError, match="expected a generated Python module"):
        LagrangianNetwork("kepler", key=key)


def test_activation_by_name_and_deprecated_solver():
    key = jax.random.key(0)
    assert LagrangianNetwork(kepler_contract, activation="tanh", key=key).mlp.activation is jnp.tanh
    with pytest.warns(DeprecationWarning, match="write mass_solve='cholesky'") as record:
        model = LagrangianNetwork(kepler_contract, solver="cholesky", key=key)
    assert record[0].filename == __file__  # the warning points at the caller
    assert model.mass_solve == "cholesky"
    with pytest.warns(DeprecationWarning, match="read .mass_solve"):
        assert model.solver == "cholesky"
    with pytest.warns(DeprecationWarning):
        rebuilt = LagrangianNetwork.from_weights(kepler_contract, model.weights(), solver="pinv")
    assert rebuilt.mass_solve == "pinv"


def test_incomplete_module_is_rejected():
    module = types.ModuleType("broken")
    module.COORDINATE_NAMES = ("x",)
    with pytest.raises(TypeError, match="missing SYSTEM_NAME, INVARIANT_NAMES, CHARGE_NAMES, "
                       "LINEAR_GENERATORS, HAS_LAGRANGIAN, invariants"):  # fmt: skip
        LagrangianNetwork(module, key=jax.random.key(0))
    with pytest.raises(TypeError, match="energy, lagrangian, acceleration, true_charges, "
                       "true_energy. Regenerate"):  # fmt: skip
        check_module(types.ModuleType("empty"), need_lagrangian=True)
    no_lagrangian = types.ModuleType("no_lagrangian")
    vars(no_lagrangian).update(vars(kepler_contract))
    no_lagrangian.HAS_LAGRANGIAN = False
    with pytest.raises(TypeError, match="missing HAS_LAGRANGIAN = True"):
        check_module(no_lagrangian, need_lagrangian=True)


@pytest.mark.parametrize("invariant", [True, False])
def test_standardized_network_keeps_chain_rule_and_conservation(invariant):
    model = LagrangianNetwork(kepler_contract, invariant=invariant, standardize=True,
                              dtype=jnp.float64, key=jax.random.key(3))
    q, qdot = _states(kepler_contract)
    model = model.standardized(10 * q + 5, qdot)
    shift, scale = model.input_scaling
    assert not np.allclose(shift, 0) and not np.allclose(scale, 1)
    chain = jax.jit(jax.vmap(model.acceleration))(q, qdot)
    generic = jax.jit(jax.vmap(lambda a, b: dynamics.acceleration(model, a, b)))(q, qdot)
    np.testing.assert_allclose(chain, generic, rtol=1e-10, atol=1e-10 * np.max(np.abs(generic)))
    if invariant:  # the standardisation acts on invariants: still invariant
        for x, v in zip(q, qdot):
            np.testing.assert_allclose(model(x, v), model(-x, -v), rtol=1e-12)


def test_standardized_needs_the_option():
    model = LagrangianNetwork(kepler_contract, key=jax.random.key(0))
    assert model.input_scaling is None
    with pytest.raises(ValueError, match="standardize=True"):
        model.standardized(jnp.ones((2, 3)), jnp.ones((2, 3)))


@pytest.mark.parametrize(
    "module, invariant, depth, standardize",
    [(kepler_contract, True, 2, False), (two_particle_2d_contract, False, 1, True),
     (kepler_contract, True, 0, False)],
    ids=["kepler", "unconstrained-standardized", "depth-0"],
)  # fmt: skip
def test_weights_round_trip(module, invariant, depth, standardize):
    model = LagrangianNetwork(module, invariant=invariant, width=6, depth=depth,
                              activation=jnp.tanh, standardize=standardize, dtype=jnp.float64,
                              key=jax.random.key(4))  # fmt: skip
    q, qdot = _states(module)
    if standardize:
        model = model.standardized(3 * q + 1, qdot)
    weights = model.weights()
    assert len(weights) == depth + 1 and weights[-1][1] is None
    assert weights[0][0].shape == (1 if depth == 0 else 6, model.mlp.in_size)
    exported = [(np.asarray(w), None if b is None else np.asarray(b)) for w, b in weights]
    rebuilt = LagrangianNetwork.from_weights(
        module, exported, invariant=invariant, activation=model.mlp.activation,
        input_scaling=model.input_scaling,
    )  # fmt: skip
    # Arrays, not the whole tree: a depth-0 MLP keeps the width it was built with, unused.
    arrays = [jax.tree.leaves(eqx.filter(m, eqx.is_array)) for m in (rebuilt, model)]
    assert len(arrays[0]) == len(arrays[1])
    for a, b in zip(*arrays):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert (rebuilt.mlp.depth, rebuilt.invariant) == (depth, invariant)
    outputs = [eqx.filter_jit(jax.vmap(m.__call__))(q, qdot) for m in (rebuilt, model)]
    np.testing.assert_array_equal(*outputs)
    accelerations = [eqx.filter_jit(m.batched_acceleration)(q, qdot) for m in (rebuilt, model)]
    np.testing.assert_array_equal(*accelerations)


def test_from_weights_takes_its_dtype_from_the_arrays_or_the_argument():
    model = LagrangianNetwork(kepler_contract, width=4, key=jax.random.key(0))
    assert LagrangianNetwork.from_weights(kepler_contract, model.weights()).dtype == np.float32
    as64 = LagrangianNetwork.from_weights(kepler_contract, model.weights(), dtype=jnp.float64)
    assert {x.dtype for x in jax.tree.leaves(eqx.filter(as64, eqx.is_array))} == {
        np.dtype("float64")
    }
    with pytest.raises(TypeError, match="expected a floating dtype"):
        LagrangianNetwork.from_weights(kepler_contract, [(np.ones((1, 3), int), None)])


def test_from_weights_lists_every_shape_that_does_not_fit():
    weights = LagrangianNetwork(kepler_contract, width=8, key=jax.random.key(0)).weights()
    (w0, b0), (w1, b1), (w2, _) = weights
    bad = [(w0.T, b0), (w1[:, :5], b1), (w2, jnp.zeros(1))]
    message = (
        r"weights do not fit a LagrangianNetwork of 'kepler' \(the invariants\): expected 3 "
        r"inputs, 2 hidden layer\(s\) of width 8 .*\n"
        r"  - layer 0 W: expected \(8, 3\), got \(3, 8\) \(transposed\? W is \(out, in\)\)\n"
        r"  - layer 1 W: expected \(8, 8\), got \(8, 5\)\n"
        r"  - layer 2 b: expected None \(the network has no output bias.*got shape \(1,\)\n"
        r"  - input_scaling shift: expected shape \(3,\), got \(2,\)$"
    )
    with pytest.raises(ValueError, match=message):
        LagrangianNetwork.from_weights(
            kepler_contract, bad, input_scaling=(np.zeros(2), np.ones(3))
        )
    with pytest.raises(ValueError, match=r"layer 1 b: expected \(8,\), got None"):
        LagrangianNetwork.from_weights(kepler_contract, [(w0, b0), (w1, None), (w2, None)])
    with pytest.raises(ValueError, match="input_scaling scale: every entry must be > 0"):
        LagrangianNetwork.from_weights(
            kepler_contract, weights, input_scaling=(np.zeros(3), np.zeros(3))
        )
    with pytest.raises(TypeError, match=r"list of \(W, b\) pairs, one per layer"):
        LagrangianNetwork.from_weights(kepler_contract, [w0, w1, w2])
    with pytest.raises(TypeError, match="activation must be a name .* or a function"):
        LagrangianNetwork.from_weights(kepler_contract, weights, activation=3)


def test_from_weights_asks_for_float32_when_x64_is_off():
    code = (
        "import numpy as np, sys; sys.path.insert(0, sys.argv[1])\n"
        "from handwritten import kepler_contract\n"
        "from symnoether.numeric.network import LagrangianNetwork\n"
        "LagrangianNetwork.from_weights(kepler_contract, [(np.ones((1, 3)), None)])\n"
    )
    tests = str(Path(__file__).resolve().parent)
    out = subprocess.run([sys.executable, "-c", code, tests], capture_output=True, text=True)
    assert out.returncode != 0 and "pass dtype=jnp.float32 to convert them" in out.stderr
