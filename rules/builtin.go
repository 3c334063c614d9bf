package rules

import "fmt"

// AptNetconID is the rule_id of Elastic's "Suspicious APT Package Manager
// Network Connection", shipped as shipped/apt_hook_shell_network_connection.toml.
const AptNetconID = "eaef8a35-12e0-4ac0-bc14-81c72b6bd27c"

// Builtin returns the shipped rule with id, freshly loaded from its
// embedded file (each call returns a new value).
func Builtin(id string) (*Rule, error) {
	rs, err := Shipped()
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		if r.ID == id {
			return r, nil
		}
	}
	return nil, fmt.Errorf("rules: no shipped rule %s", id)
}

// AptNetcon returns the seed rule "Suspicious APT Package Manager Network
// Connection" (upstream version 10) loaded from its shipped file. The file
// is part of the binary and its tests load it, so failing here is a build
// defect, not an input error: it panics.
func AptNetcon() *Rule {
	r, err := Builtin(AptNetconID)
	if err != nil {
		panic(err)
	}
	return r
}
