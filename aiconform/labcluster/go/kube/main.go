// Command kube is the lab's control plane: kube-apiserver, kube-controller-manager and kube-scheduler of
// k8s.io/kubernetes and an embedded etcd (go.etcd.io/etcd/server/v3/embed), linked into one binary to save link
// time and disk. The first argument (or the name it is called by) picks the program.
package main

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/component-base/cli"
	"k8s.io/component-base/version"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	kcm "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

func main() {
	name := filepath.Base(os.Args[0])
	args := os.Args[1:]
	switch name {
	case "kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd":
	default: // called by its own name (kube-<version>): the first argument picks the program
		if len(args) == 0 {
			fmt.Fprintln(os.Stderr, "usage: kube {kube-apiserver|kube-controller-manager|kube-scheduler|etcd|version} [flags]")
			os.Exit(2)
		}
		name, args = args[0], args[1:]
	}
	os.Args = append([]string{name}, args...)
	switch name {
	case "kube-apiserver":
		os.Exit(cli.Run(apiserver.NewAPIServerCommand()))
	case "kube-controller-manager":
		os.Exit(cli.Run(kcm.NewControllerManagerCommand()))
	case "kube-scheduler":
		os.Exit(cli.Run(scheduler.NewSchedulerCommand()))
	case "etcd":
		os.Exit(runEtcd(args))
	case "version", "--version":
		fmt.Println(version.Get().GitVersion)
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n", name)
		os.Exit(2)
	}
}

func urls(s string) []url.URL {
	var out []url.URL
	for _, p := range strings.Split(s, ",") {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil {
			fmt.Fprintf(os.Stderr, "etcd: bad URL %q: %v\n", p, err)
			os.Exit(2)
		}
		out = append(out, *u)
	}
	return out
}

func runEtcd(args []string) int {
	fs := flag.NewFlagSet("etcd", flag.ExitOnError)
	dataDir := fs.String("data-dir", "default.etcd", "data directory")
	client := fs.String("listen-client-urls", "http://127.0.0.1:2379", "client URLs")
	advertise := fs.String("advertise-client-urls", "", "advertised client URLs (default: listen-client-urls)")
	peer := fs.String("listen-peer-urls", "http://127.0.0.1:2380", "peer URLs")
	unsafeNoFsync := fs.Bool("unsafe-no-fsync", false, "disable fsync (lab only)")
	quota := fs.Int64("quota-backend-bytes", 0, "backend quota")
	showVersion := fs.Bool("version", false, "print version")
	_ = fs.Parse(args)
	if *showVersion {
		fmt.Println("etcd (embedded)")
		return 0
	}
	cfg := embed.NewConfig()
	cfg.Dir = *dataDir
	cfg.ListenClientUrls = urls(*client)
	if *advertise == "" {
		*advertise = *client
	}
	cfg.AdvertiseClientUrls = urls(*advertise)
	cfg.ListenPeerUrls = urls(*peer)
	cfg.AdvertisePeerUrls = cfg.ListenPeerUrls
	cfg.InitialCluster = cfg.Name + "=" + cfg.AdvertisePeerUrls[0].String()
	cfg.UnsafeNoFsync = *unsafeNoFsync
	cfg.QuotaBackendBytes = *quota
	cfg.LogLevel = "warn"
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "etcd: %v\n", err)
		return 1
	}
	defer e.Close()
	select {
	case <-e.Server.ReadyNotify():
		fmt.Fprintln(os.Stderr, "etcd: ready")
	case <-time.After(60 * time.Second):
		e.Server.Stop()
		fmt.Fprintln(os.Stderr, "etcd: took too long to start")
		return 1
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case err := <-e.Err():
		fmt.Fprintf(os.Stderr, "etcd: %v\n", err)
		return 1
	case <-sig:
		return 0
	}
}
