package domain

import "regexp"

// The patterns of what users name, in one place: the server's validation
// compiles them here, and the Terraform provider compiles the same
// constants for its plan-time checks, so a plan refuses exactly what
// berthd would.
const (
	AppNamePattern          = `^[a-z][a-z0-9-]{0,39}$`
	TeamNamePattern         = `^[a-zA-Z][-a-zA-Z0-9_]{0,62}$`
	EnvNamePattern          = `^[A-Za-z_][A-Za-z0-9_]*$`
	ProcNamePattern         = `^[a-z][a-z0-9-]{0,29}$`
	MetaVersionPattern      = `^[0-9]+-[0-9a-f]{40}$`
	MemoryPattern           = `(?i)^([0-9]+(?:\.[0-9]+)?) ?(?:([kmgt])(?:i?b)?|b)?$`
	PipelineNamePattern     = `^[a-z][a-z0-9-]{2,22}$`
	StatusContextPattern    = `^[./\\+A-Za-z0-9-]{6,31}$`
	ServiceNamePattern      = `^[a-z][a-z0-9_-]{0,62}$`
	InstanceNamePattern     = `^[A-Za-z][-a-zA-Z0-9_]+$`
	StackProjectNamePattern = `^[a-z][a-z0-9-]{0,39}$`
	StackPrefixPattern      = `^[a-z][a-z0-9-]{0,15}$`
)

var (
	appNameRe          = regexp.MustCompile(AppNamePattern)
	teamNameRe         = regexp.MustCompile(TeamNamePattern)
	envNameRe          = regexp.MustCompile(EnvNamePattern)
	procNameRe         = regexp.MustCompile(ProcNamePattern)
	metaVersionRe      = regexp.MustCompile(MetaVersionPattern)
	memoryRe           = regexp.MustCompile(MemoryPattern)
	pipelineNameRe     = regexp.MustCompile(PipelineNamePattern)
	statusContextRe    = regexp.MustCompile(StatusContextPattern)
	serviceNameRe      = regexp.MustCompile(ServiceNamePattern)
	instanceNameRe     = regexp.MustCompile(InstanceNamePattern)
	stackProjectNameRe = regexp.MustCompile(StackProjectNamePattern)
	stackPrefixRe      = regexp.MustCompile(StackPrefixPattern)
)

// UserAppTypes are the app types a user may declare (resource instances
// are made by berth).
var UserAppTypes = []AppType{AppTypeApp, AppTypeService, AppTypeResource}
