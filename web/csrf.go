package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

// CSRF protection for public forms is a signed double-submit: a random nonce in a signed,
// HttpOnly cookie, and in the form a MAC of that nonce which only this server can compute. It
// keeps no server-side state, so every node checks any node's token and an anonymous page view
// writes nothing; and a rejected form can be shown again at once with a fresh token and what the
// visitor typed. (Fiber's csrf middleware stores a row per visitor and cannot do the latter.)

const (
	csrfCookie = "helpdesk_csrf"
	csrfField  = "_csrf"
)

func (s *server) mac(purpose string, data []byte) []byte {
	m := hmac.New(sha256.New, s.SigningKey)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write(data)
	return m.Sum(nil)
}

// csrfNonce returns the visitor's nonce from a validly signed cookie, or nil.
func (s *server) csrfNonce(c *fiber.Ctx) []byte {
	raw, sig, ok := strings.Cut(c.Cookies(csrfCookie), ".")
	if !ok {
		return nil
	}
	nonce, err1 := base64.RawURLEncoding.DecodeString(raw)
	mac, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil || len(nonce) != 16 || !hmac.Equal(mac, s.mac("csrf-cookie", nonce)) {
		return nil
	}
	return nonce
}

// csrfToken returns the token to put in a form, setting the cookie when the visitor has none.
func (s *server) csrfToken(c *fiber.Ctx) string {
	nonce := s.csrfNonce(c)
	if nonce == nil {
		nonce = make([]byte, 16)
		rand.Read(nonce)
		c.Cookie(&fiber.Cookie{
			Name:     csrfCookie,
			Value:    base64.RawURLEncoding.EncodeToString(nonce) + "." + base64.RawURLEncoding.EncodeToString(s.mac("csrf-cookie", nonce)),
			Path:     "/",
			HTTPOnly: true,
			Secure:   s.secureCookies(),
			SameSite: fiber.CookieSameSiteLaxMode,
			Expires:  time.Now().Add(24 * time.Hour),
		})
	}
	return base64.RawURLEncoding.EncodeToString(s.mac("csrf-form", nonce))
}

// csrfValid checks a form post: the cookie is ours, the form carries the matching token, and a
// browser that names the page it came from names one of ours.
func (s *server) csrfValid(c *fiber.Ctx) bool {
	nonce := s.csrfNonce(c)
	if nonce == nil {
		return false
	}
	got, err := base64.RawURLEncoding.DecodeString(c.FormValue(csrfField))
	if err != nil || !hmac.Equal(got, s.mac("csrf-form", nonce)) {
		return false
	}
	return sameOrigin(c)
}

// sameOrigin reports whether a browser that names the page a request came from names one of ours.
func sameOrigin(c *fiber.Ctx) bool {
	origin := c.Get(fiber.HeaderOrigin)
	if origin == "" || origin == "null" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == c.Hostname()
}

// sessionCSRF is the form token of the session in the cookie named cookie: a MAC of its secret
// under purpose, which a page of that session can post and nobody else can forge.
func (s *server) sessionCSRF(c *fiber.Ctx, purpose, cookie string) string {
	return base64.RawURLEncoding.EncodeToString(s.mac(purpose, []byte(c.Cookies(cookie))))
}

// sessionCSRFValid checks the token a form (field _csrf) or a script (header X-CSRF-Token) sent
// against the session in the cookie named cookie.
func (s *server) sessionCSRFValid(c *fiber.Ctx, purpose, cookie string) bool {
	token := c.FormValue(csrfField)
	if token == "" {
		token = c.Get("X-CSRF-Token")
	}
	got, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil && len(got) > 0 && hmac.Equal(got, s.mac(purpose, []byte(c.Cookies(cookie))))
}

func (s *server) secureCookies() bool {
	return strings.HasPrefix(s.Config.BaseURL, "https://")
}
