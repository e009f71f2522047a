package api

func (s *Server) lainRoutes() {}
