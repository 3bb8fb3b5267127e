package web

import (
	"context"
	"io/fs"
	"mime"
	"path"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/internal/database"
)

// healthz says the process is up; it touches nothing, so that a slow database never gets a
// healthy process restarted.
func (s *server) healthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

// readyz says whether this node can serve: the database answers and its schema is the one this
// binary was built for.
func (s *server) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	sqlDB, err := s.DB.DB()
	if err == nil {
		err = sqlDB.PingContext(ctx)
	}
	if err != nil {
		s.Logger.Warn("not ready: database unreachable", "error", err)
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "unavailable", "reason": "database unreachable"})
	}
	if err := database.CheckCurrent(ctx, s.DB); err != nil {
		s.Logger.Warn("not ready", "error", err)
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "unavailable", "reason": "database schema is not current"})
	}
	return c.JSON(fiber.Map{"status": "ready"})
}

func (s *server) openAPI(c *fiber.Ctx) error {
	doc, err := assets.ReadFile("openapi.json")
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(doc)
}

// static serves the embedded stylesheet and scripts.
func (s *server) static(c *fiber.Ctx) error {
	name := path.Clean("/" + c.Params("*"))
	data, err := fs.ReadFile(assets, "static"+name)
	if err != nil {
		return fiber.ErrNotFound
	}
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		c.Set(fiber.HeaderContentType, ct)
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	return c.Send(data)
}

func (s *server) home(c *fiber.Ctx) error {
	return c.Redirect("/support", fiber.StatusSeeOther)
}
