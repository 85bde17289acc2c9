// Command kwok is sigs.k8s.io/kwok's kwok controller as upstream's cmd/kwok builds it, plus a
// `default-stages` sub-command that prints the node and pod Stages kwokctl applies by default (the
// embedded YAML of sigs.k8s.io/kwok/kustomize/stage/{node,pod}/fast), so the lab starts kwok with
// exactly upstream's lifecycle without copying upstream files; and a `default-metrics` sub-command that prints
// upstream's kubelet `/metrics/resource` stand-in (the Metric `metrics-resource`) and its usage-from-annotation
// ClusterResourceUsage (sigs.k8s.io/kwok/kustomize/metrics/{resource,usage}), which metrics-server scrapes.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"

	metricsresource "sigs.k8s.io/kwok/kustomize/metrics/resource"
	metricsusage "sigs.k8s.io/kwok/kustomize/metrics/usage"
	nodefast "sigs.k8s.io/kwok/kustomize/stage/node/fast"
	podfast "sigs.k8s.io/kwok/kustomize/stage/pod/fast"
	"sigs.k8s.io/kwok/pkg/config"
	"sigs.k8s.io/kwok/pkg/consts"
	"sigs.k8s.io/kwok/pkg/kwok/cmd"
	"sigs.k8s.io/kwok/pkg/log"
	"sigs.k8s.io/kwok/pkg/utils/signals"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "default-stages" {
		for _, s := range []string{nodefast.DefaultNodeInit, podfast.DefaultPodReady, podfast.DefaultPodComplete,
			podfast.DefaultPodDelete} {
			fmt.Printf("---\n%s\n", s)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "default-metrics" {
		for _, s := range []string{metricsresource.DefaultMetricsResource, metricsusage.DefaultUsageFromAnnotation} {
			fmt.Printf("---\n%s\n", s)
		}
		return
	}
	if len(os.Args) > 1 && (os.Args[1] == "--version" || os.Args[1] == "version") {
		fmt.Printf("kwok version %s\n", consts.Version)
		return
	}
	flagset := pflag.NewFlagSet("global", pflag.ContinueOnError)
	flagset.ParseErrorsAllowlist.UnknownFlags = true
	flagset.Usage = func() {}

	ctx := signals.SetupSignalContext()
	ctx, logger := log.InitFlags(ctx, flagset)
	ctx, err := config.InitFlags(ctx, flagset)
	if err != nil {
		_, _ = os.Stderr.Write([]byte(flagset.FlagUsages()))
		logger.Error("Init config flags", "err", err)
		os.Exit(1)
	}
	command := cmd.NewCommand(ctx)
	command.PersistentFlags().AddFlagSet(flagset)
	if err := command.ExecuteContext(ctx); err != nil {
		logger.Error("Execute exit", "err", err)
		os.Exit(1)
	}
}
