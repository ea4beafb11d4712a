// Command jangkau-package builds the probe's Linux packages (.deb and
// .rpm for amd64, arm64 and armv7) with nfpm used as a library: the
// probe-only binary as /usr/bin/jangkau, a jangkau system user, the
// systemd unit with CAP_NET_RAW, /etc/jangkau/probe.yaml as a config file
// kept on upgrade, and /var/lib/jangkau for the spool.
//
//	go run ./cmd/jangkau-package --version 0.4.0 --out dist
//
// Run it from the repository root.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
	"github.com/goreleaser/nfpm/v2/files"
	_ "github.com/goreleaser/nfpm/v2/rpm" // registers the rpm packager
)

// arches are the targets: nfpm's name and the Go toolchain's settings.
var arches = map[string][]string{
	"amd64": {"GOARCH=amd64"},
	"arm64": {"GOARCH=arm64"},
	"arm7":  {"GOARCH=arm", "GOARM=7"},
}

func main() {
	version := flag.String("version", "0.0.0", "package `version` (semver)")
	out := flag.String("out", "dist", "output `dir`")
	archList := flag.String("arch", "amd64,arm64,arm7", "comma-separated `arches` (amd64, arm64, arm7)")
	formats := flag.String("formats", "deb,rpm", "comma-separated `formats` (deb, rpm)")
	flag.Parse()
	paths, err := build(".", *out, *version, strings.Split(*archList, ","), strings.Split(*formats, ","))
	for _, p := range paths {
		if st, serr := os.Stat(p); serr == nil {
			fmt.Printf("%s\t%d bytes\n", p, st.Size())
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "jangkau-package:", err)
		os.Exit(1)
	}
}

// build compiles the probe for each arch in repo and writes its packages
// to out; it returns the files written.
func build(repo, out, version string, archList, formats []string) ([]string, error) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "jangkau-package-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	unit, err := os.ReadFile(filepath.Join(repo, "deploy", "jangkau-probe.service"))
	if err != nil {
		return nil, err
	}
	unitFile := filepath.Join(work, "jangkau-probe.service")
	if err := os.WriteFile(unitFile, []byte(strings.ReplaceAll(string(unit), "/usr/local/bin/jangkau", "/usr/bin/jangkau")), 0o644); err != nil {
		return nil, err
	}
	var written []string
	for _, arch := range archList {
		env, ok := arches[arch]
		if !ok {
			return written, fmt.Errorf("--arch %q is not one of amd64, arm64, arm7", arch)
		}
		bin := filepath.Join(work, "jangkau-"+arch)
		cmd := exec.Command("go", "build", "-tags", "probeonly", "-trimpath", "-ldflags", "-s -w", "-o", bin, "./cmd/jangkau")
		cmd.Dir, cmd.Stderr = repo, os.Stderr
		cmd.Env = append(append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux"), env...)
		if err := cmd.Run(); err != nil {
			return written, fmt.Errorf("build for %s: %w", arch, err)
		}
		for _, format := range formats {
			path, err := pack(repo, out, version, arch, format, bin, unitFile)
			if err != nil {
				return written, fmt.Errorf("%s %s: %w", format, arch, err)
			}
			written = append(written, path)
		}
	}
	return written, nil
}

// pack writes one package.
func pack(repo, out, version, arch, format, bin, unitFile string) (string, error) {
	packager, err := nfpm.Get(format)
	if err != nil {
		return "", err
	}
	deploy := filepath.Join(repo, "deploy", "package")
	readScript := func(name string) string { return filepath.Join(deploy, name) }
	info := &nfpm.Info{
		Name:        "jangkau-probe",
		Arch:        arch,
		Platform:    "linux",
		Version:     version,
		Section:     "net",
		Priority:    "optional",
		Maintainer:  "jangkau maintainers <jangkau@localhost>",
		Description: "jangkau probe: district connectivity and e-service checks reported to a jangkau collector",
		Homepage:    "https://github.com/jangkau/jangkau",
		License:     "Apache-2.0",
		Overridables: nfpm.Overridables{
			Depends: []string{"adduser | passwd"},
			Contents: files.Contents{
				{Source: bin, Destination: "/usr/bin/jangkau", FileInfo: &files.ContentFileInfo{Mode: 0o755}},
				{Source: unitFile, Destination: "/usr/lib/systemd/system/jangkau-probe.service", FileInfo: &files.ContentFileInfo{Mode: 0o644}},
				{Source: filepath.Join(deploy, "probe.yaml"), Destination: "/etc/jangkau/probe.yaml", Type: files.TypeConfigNoReplace,
					FileInfo: &files.ContentFileInfo{Mode: 0o640, Owner: "root", Group: "jangkau"}},
				{Destination: "/etc/jangkau", Type: files.TypeDir, FileInfo: &files.ContentFileInfo{Mode: 0o750, Owner: "root", Group: "jangkau"}},
				{Destination: "/var/lib/jangkau", Type: files.TypeDir, FileInfo: &files.ContentFileInfo{Mode: 0o750, Owner: "jangkau", Group: "jangkau"}},
			},
			Scripts: nfpm.Scripts{PreInstall: readScript("preinstall.sh"), PostInstall: readScript("postinstall.sh")},
		},
	}
	if format == "rpm" {
		info.Depends = []string{"shadow-utils"}
	}
	info = nfpm.WithDefaults(info)
	if err := nfpm.PrepareForPackager(info, format); err != nil {
		return "", err
	}
	path := filepath.Join(out, packager.ConventionalFileName(info))
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if err := packager.Package(info, f); err != nil {
		f.Close()
		return "", errors.Join(err, os.Remove(path))
	}
	return path, f.Close()
}
