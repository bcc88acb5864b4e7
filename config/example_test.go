package config_test

import (
	"errors"
	"fmt"

	"github.com/pcautoscaler/pcautoscaler/config"
)

// A config with several mistakes: every problem comes back at once, each
// naming its YAML path, what is allowed, and its line.
func ExampleParse() {
	_, err := config.Parse([]byte(`
defaults:
  target_utilization: 1.2
targets:
  - function: checkout-api
    qualifier: $LATEST
    minn: 5
    schedules:
      - name: business-hours
        cron: "0 8 * * MON-FRI"
        timezone: Europe/Berln
        duration: 10h
        floor: 50
`))
	var verr *config.ValidationError
	if errors.As(err, &verr) {
		for _, p := range verr.Problems {
			fmt.Println(p)
		}
	}
	// Output:
	// defaults.target_utilization: 1.2 is out of range (0 < value < 1) (line 3)
	// targets[0].qualifier: "$LATEST" is not allowed (use an alias or a published version) (line 6)
	// targets[0].minn: unknown key (did you mean "min"?) (line 7)
	// targets[0].schedules[0].timezone: unknown time zone "Europe/Berln" (line 11)
}

// Each target starts as a copy of the resolved defaults; its own keys win.
func ExampleParse_overrides() {
	cfg, err := config.Parse([]byte(`
defaults:
  max: 50
  missing_data: hold
targets:
  - {function: checkout-api, qualifier: live, max: 400}
  - {function: search-api, qualifier: live}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range cfg.Targets {
		fmt.Println(t.Function, t.Min, t.Max, t.MissingData, t.ScaleInCooldown)
	}
	// Output:
	// checkout-api 1 400 hold 5m
	// search-api 1 50 hold 5m
}
