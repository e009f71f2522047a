package client

// initServices wires the services of every API area. Each area's file
// declares its service type; this is the one place they are attached.
func (c *Client) initServices() {}
