"""Energy, CO2 and electricity cost of one GPU, cumulative since sampling began.

Units are the whole point of this module. SMOLTRACE integrated power into kW·s and reported the
number as Wh, 3.6× too high. Here energy is kept in joules (W × s, SI, no conversion while
integrating) and converted exactly once where a unit changes:

    Wh  = J / 3_600            (1 Wh  = 3_600 J)
    kWh = J / 3_600_000        (1 kWh = 3.6 MJ)
    CO2 g = kWh × grid intensity (gCO2e/kWh)
    cost USD = kWh × price (USD/kWh)

Two sources of energy, chosen per GPU when the sampler discovers it:

- ``nvml_energy_counter``: NVML's total-energy counter (``nvmlDeviceGetTotalEnergyConsumption``, mJ
  since the driver loaded; Volta and newer). Preferred: the GPU integrates its own power at a far
  higher rate than we sample, so short spikes between samples are not missed. Energy is the sum of
  the counter's increases between consecutive readings (a decrease, i.e. a driver reload, adds 0).
- ``power_trapezoid``: otherwise, the trapezoid rule over the sampled power,
  ``E += (P_prev + P_now) / 2 × (t_now − t_prev)``. The trapezoid (not the left rectangle) because
  it is exact for power that changes linearly between samples and has no bias towards the earlier
  reading. A failed power reading is skipped: the next good reading is joined to the last good one
  by a straight line.

A GPU with neither (no power sensor) has no energy, CO2 or cost at all: ``None``, never 0.
"""

from __future__ import annotations

from dataclasses import dataclass

J_PER_WH = 3_600.0
J_PER_KWH = 3_600_000.0

#: World average lifecycle carbon intensity of electricity generation in 2023, 481 gCO2e/kWh
#: (Ember, Yearly Electricity Data / Global Electricity Review 2024; also shown by Our World in Data,
#: "Carbon intensity of electricity generation"). Set your own grid's value: it ranges from ~30
#: (Norway, France ~56) to ~700 (India ~713) gCO2e/kWh.
DEFAULT_GRID_INTENSITY_GCO2E_PER_KWH = 481.0

#: About the U.S. average retail price of electricity, all sectors, 2023-2024: roughly 12.7-13 cents
#: per kWh (U.S. EIA, Electric Power Monthly, Table 5.3), rounded to 0.13 USD/kWh. Set your own
#: tariff: U.S. states alone range from ~8 to ~30 cents/kWh.
DEFAULT_PRICE_USD_PER_KWH = 0.13

COUNTER = "nvml_energy_counter"
TRAPEZOID = "power_trapezoid"


def co2_grams(joules: float, grid_intensity_gco2e_per_kwh: float) -> float:
    """Emissions of ``joules`` of electricity at a grid intensity in gCO2e per kWh."""
    return joules / J_PER_KWH * grid_intensity_gco2e_per_kwh


def cost_usd(joules: float, price_usd_per_kwh: float) -> float:
    """Price of ``joules`` of electricity at a tariff in USD per kWh."""
    return joules / J_PER_KWH * price_usd_per_kwh


@dataclass
class EnergyMeter:
    """Cumulative energy (J) of one GPU since its first usable reading.

    ``update`` takes one sample's time and readings and returns the cumulative energy, or ``None``
    when this sample has no usable reading (the cumulative value is then simply not reported).
    """

    use_counter: bool
    joules: float | None = None
    start_time_ns: int | None = None
    _last_time_ns: int | None = None
    _last_power_w: float | None = None
    _last_counter_j: float | None = None

    @property
    def method(self) -> str:
        return COUNTER if self.use_counter else TRAPEZOID

    def update(self, time_ns: int, power_w: float | None, counter_j: float | None) -> float | None:
        if self.use_counter:
            if counter_j is None:
                return None
            if self._last_counter_j is None:
                self.joules, self.start_time_ns = 0.0, time_ns
            else:
                self.joules += max(0.0, counter_j - self._last_counter_j)
            self._last_counter_j = counter_j
            return self.joules
        if power_w is None:
            return None
        if self._last_time_ns is None:
            self.joules, self.start_time_ns = 0.0, time_ns
        else:
            elapsed_s = max(0, time_ns - self._last_time_ns) / 1e9
            self.joules += (self._last_power_w + power_w) / 2.0 * elapsed_s
        self._last_time_ns, self._last_power_w = time_ns, power_w
        return self.joules
