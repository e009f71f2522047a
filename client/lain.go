package client

// ReposService registers apps and manages maintainers (lain /api/v1/repos).
type ReposService service

// DeploymentsService deploys and undeploys apps (lain /api/v1/apps).
type DeploymentsService service

// ProcsService manages the procs of deployed apps (lain /api/v1/apps/{app}/procs).
type ProcsService service
