package api

func (s *Server) tsuruServiceRoutes() {}
