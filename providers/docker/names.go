package docker

import (
	"strings"
	"unicode"
)

// Compose labels identify the service and project of a container started by
// docker compose; they give replicas of one service one shared name.
const (
	labelComposeService = "com.docker.compose.service"
	labelComposeProject = "com.docker.compose.project"
)

// normalize turns any name into one usable in rules and object names, as
// Traefik's provider.Normalize does: every run of characters other than
// letters and digits becomes a single "-", and leading or trailing ones are
// dropped ("web_shop" → "web-shop", "/my.app" → "my-app").
func normalize(name string) string {
	return strings.Join(strings.FieldsFunc(name, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r)
	}), "-")
}

// defaultName is the name of the router and service that a container gets
// when its labels name none: "<service>-<project>" for a compose container
// (so that the replicas of one compose service share it), else the
// container's name, normalised.
func defaultName(containerName string, labels map[string]string) string {
	svc, project := labels[labelComposeService], labels[labelComposeProject]
	if svc != "" && project != "" {
		return normalize(svc + "_" + project)
	}
	return normalize(containerName)
}
