package api

func (s *Server) tsuruAppRoutes() {}
