"""The Izhikevich (2003) two-variable spiking neuron."""
from __future__ import annotations

from spikey.module import Key
from spikey.snn.equations import equation
from spikey.snn.neuron.template import Neuron


class Izhikevich(Neuron):
    """Izhikevich's simple model: quadratic membrane potential plus a recovery variable.

    Equations (Izhikevich 2003, IEEE Trans. Neural Netw. 14(6):1569), v in mV, time in ms::

        v' = 0.04 v^2 + 5 v + 140 - u + I
        u' = a (b v - u)
        if v >= 30 mV:  v <- c,  u <- u + d

    One network step covers ``h = izhikevich_dt`` ms. As in the paper's code,
    v takes two Euler half-steps (for numerical stability) and u one step with
    the new v::

        v <- v + (h/2) (0.04 v^2 + 5 v + 140 - u + I)     (twice)
        u <- u + h a (b v - u)

    ``I`` is the step's synaptic input (``spikes @ W``), held for the step.
    Firing is the template's: ``v >= θ`` (``firing_threshold``, default 30 mV)
    or a random spike, gated by the refractory period; a spike sends
    ``polarity * magnitude`` after ``spike_delay`` steps. A neuron that fired is
    reset to ``v = c`` and its ``u`` rises by ``d``; with ``refractory_period``
    R > 0 it is then held at ``v = c``, ignoring input, for R steps (``u`` keeps
    relaxing). Initially ``v = resting_mv`` (default -65 mV) and ``u = b v``.

    Step size: h = 1 ms (the paper's) reproduces the cell types qualitatively
    but resolves fast spiking poorly (spike times jitter by the overshoot);
    h = 0.1 ms is close to the converged rates (with I = 10: RS about 23 Hz
    with its first interval half the later ones, FS about 130 Hz).

    Regular spiking (cortical excitatory): a=0.02, b=0.2, c=-65, d=8 (the
    defaults). Fast spiking (inhibitory interneurons): a=0.1, d=2. Chattering:
    c=-50, d=2. Intrinsically bursting: c=-55, d=4. All four are per-member
    keys, so one batch can hold different cell types.

    Examples
    --------
    >>> import numpy as np
    >>> cells = Izhikevich(n_neurons=1, batch_size=2, a=[0.02, 0.1], d=[8.0, 2.0],  # RS, FS
    ...                    izhikevich_dt=0.5)
    >>> counts = np.zeros((2, 1))
    >>> for _ in range(2000):                         # 1 s of constant input I = 10
    ...     counts += cells() != 0
    ...     cells.update(np.full((2, 1), 10.0, dtype=np.float32))
    >>> counts.ravel().tolist()                       # spikes per second: RS vs FS
    [22.0, 93.0]
    """

    Keys = Neuron.Keys + [
        Key("firing_threshold", "θ, spike cutoff of v (mV)", float, default=30.0, per_member=True),
        Key("resting_mv", "initial membrane potential v (mV)", float, default=-65.0, per_member=True),
        Key("a", "a, time scale of the recovery variable u (1/ms)", float, default=0.02,
            range=(0, None), per_member=True),
        Key("b", "b, sensitivity of u to subthreshold v", float, default=0.2, per_member=True),
        Key("c", "c, reset potential of v after a spike (mV)", float, default=-65.0, per_member=True),
        Key("d", "d, jump of u after a spike", float, default=8.0, per_member=True),
        Key("izhikevich_dt", "h, milliseconds of model time per network step", float, default=1.0,
            range=(1e-9, None), per_member=True),
    ]
    state_names = Neuron.state_names + ("recovery",)
    model_state = Neuron.model_state + ("recovery",)

    def derive(self) -> None:
        super().derive()
        self.a, self.b = self.column("a"), self.column("b")
        self.c, self.d = self.column("c"), self.column("d")
        self.dt = self.column("izhikevich_dt")
        self.half_dt = self.dt * 0.5
        # The model's constants (mV, ms): named so that compiled code keeps them in the state's dtype.
        self.quadratic, self.linear, self.offset = 0.04, 5.0, 140.0

    def reset(self) -> None:
        """v = resting_mv, u = b v; timers and delayed spikes cleared."""
        super().reset()
        self.recovery = self.b * self.potential

    @equation("potential")
    def hold_eq(c):
        """A neuron that fired or is refractory sits at v = c."""
        return c

    @equation("recovery")
    def spike_eq(recovery, d):
        """A spike raises the recovery variable: u <- u + d."""
        return recovery + d

    @equation("potential", "recovery")
    def charge_eq(potential, recovery, current, half_dt, dt, a, b, quadratic, linear, offset):
        """Two Euler half-steps of v' = 0.04 v^2 + 5 v + 140 - u + I, then u' = a (b v - u)."""
        v, u = potential, recovery
        v = v + half_dt * (quadratic * v * v + linear * v + offset - u + current)
        v = v + half_dt * (quadratic * v * v + linear * v + offset - u + current)
        return v, u + dt * (a * (b * v - u))
