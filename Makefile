# The two commands a newcomer needs: `make test` and `make panic-write`.
# Both bootstrap the virtual environment and Icarus Verilog first.
VENV := .venv/bin
PYTEST_WORKERS ?= 2

.PHONY: bootstrap test panic-write bench lint synth sim clean

bootstrap:
	@bash scripts/bootstrap.sh

test: bootstrap
	$(VENV)/pytest -n $(PYTEST_WORKERS) -q

panic-write: bootstrap
	$(VENV)/sdhci-emu panic-write

bench: bootstrap
	$(VENV)/sdhci-emu bench

lint:
	$(MAKE) -C rtl_model lint

synth:
	$(MAKE) -C rtl_model synth

sim: bootstrap
	$(MAKE) -C tests/cocotb sim

clean:
	rm -rf sim_build build *.egg-info .pytest_cache .hypothesis
