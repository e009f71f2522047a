package domain

// ValidateAppName checks a name a user chose for an app. Resource-instance
// apps (resource.<resource>.<app>) are named by the system, never by users.
func ValidateAppName(name string) error {
	if !appNameRe.MatchString(name) {
		return Invalid("invalid app name %q: it must start with a lowercase letter and contain only lowercase letters, digits and hyphens, at most 40 characters", name)
	}
	return nil
}

// ValidateTeamName checks a team name.
func ValidateTeamName(name string) error {
	if !teamNameRe.MatchString(name) {
		return Invalid("invalid team name %q: it must start with a letter and contain only letters, digits, '-' and '_', at most 63 characters", name)
	}
	return nil
}

// ValidateEnvName checks a config var name.
func ValidateEnvName(name string) error {
	if !envNameRe.MatchString(name) || len(name) > 255 {
		return Invalid("invalid environment variable name %q: it must match %s", name, envNameRe.String())
	}
	return nil
}

// ValidatePassword enforces tsuru's length rule: 6 to 50 characters.
func ValidatePassword(p string) error {
	n := len([]rune(p))
	if n < 6 || n > 50 {
		return Invalid("password length should be at least 6 characters and at most 50 characters")
	}
	return nil
}
