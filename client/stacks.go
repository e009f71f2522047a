package client

// StacksService leases test stacks with a project key (stack-orchestrator).
type StacksService service

// ProjectsService manages stack projects (admin routes).
type ProjectsService service
