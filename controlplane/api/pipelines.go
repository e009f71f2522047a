package api

func (s *Server) pipelineRoutes() {}
