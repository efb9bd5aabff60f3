# The two commands of the quick start, and a few helpers. Each target is a thin wrapper
# over scripts/, which hold the logic.
.PHONY: run test e2e bench stop status

run:     ## bring Nexify up locally with demo data
	@scripts/dev.sh

test:    ## run every test (starts and stops the services it needs)
	@scripts/test.sh

e2e:     ## only the console's browser tests, against the whole local stack
	@scripts/e2e.sh

bench:   ## every benchmark, each beside its same-run baseline: bench/latest/report.{md,json}
	@scripts/bench.sh report

stop:    ## stop the local services
	@scripts/stack.sh down

status:  ## are the local services up?
	@scripts/stack.sh status
