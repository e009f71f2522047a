package api

import (
	"errors"
	"mime"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

// tsuru's deploy of an image and its units routes (tsuru's later API; the
// 2013 document has none: its apps were deployed by git push). They take
// their parameters in the query or a form body, as tsuru's client sends
// them, or a JSON object.
func (s *Server) tsuruDeployRoutes() {
	s.handle(http.MethodPost, "/apps/{app}/deploy", AuthUser, s.deployImage)
	s.handle(http.MethodPut, "/apps/{app}/units", AuthUser, s.addUnits)
	s.handle(http.MethodDelete, "/apps/{app}/units", AuthUser, s.removeUnits)
}

// params reads the named parameters from the query and a body: a form
// (application/x-www-form-urlencoded, what tsuru's client sends) or a JSON
// object.
func params(r *http.Request, names ...string) (map[string]string, error) {
	out := map[string]string{}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/x-www-form-urlencoded" {
		if err := r.ParseForm(); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return nil, errBodyTooLarge
			}
			return nil, domain.Invalid("invalid form body: %v", err)
		}
	} else {
		var body map[string]any
		if err := decodeOptionalJSON(r, &body); err != nil {
			return nil, err
		}
		for _, n := range names {
			switch v := body[n].(type) {
			case nil:
			case string:
				out[n] = v
			case float64:
				out[n] = strconv.FormatFloat(v, 'f', -1, 64)
			default:
				return nil, domain.Invalid("field %q must be a string or a number", n)
			}
		}
	}
	q := r.URL.Query()
	for _, n := range names {
		if out[n] != "" {
			continue
		}
		if v := r.PostFormValue(n); ct == "application/x-www-form-urlencoded" && v != "" {
			out[n] = v
		} else if v := q.Get(n); v != "" {
			out[n] = v
		}
	}
	return out, nil
}

type deployAnswer struct {
	App     string `json:"Name"`
	Release int    `json:"Release"`
	Image   string `json:"Image"`
}

func (s *Server) deployImage(w http.ResponseWriter, r *http.Request) error {
	p, err := params(r, "image")
	if err != nil {
		return err
	}
	rel, a, err := s.core.Apps.Deploy(r.Context(), identity(r), mux.Vars(r)["app"], p["image"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, deployAnswer{App: a.Name, Release: rel.Version, Image: rel.Image})
	return nil
}

func (s *Server) addUnits(w http.ResponseWriter, r *http.Request) error { return s.scaleUnits(w, r, 1) }

func (s *Server) removeUnits(w http.ResponseWriter, r *http.Request) error {
	return s.scaleUnits(w, r, -1)
}

func (s *Server) scaleUnits(w http.ResponseWriter, r *http.Request, sign int) error {
	p, err := params(r, "units", "process")
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(p["units"])
	if err != nil || n < 1 {
		return domain.Invalid("units must be a positive number of units, got %q", p["units"])
	}
	a, err := s.core.Apps.ScaleUnits(r.Context(), identity(r), mux.Vars(r)["app"], p["process"], sign*n)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toTsuruApp(a))
	return nil
}
