{{/* As the upstream chart: the release name when it contains the chart's, else <release>-kueue. */}}
{{- define "kueue.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "kueue.selectorLabels" -}}
app.kubernetes.io/name: kueue
app.kubernetes.io/instance: {{ .Release.Name }}
control-plane: controller-manager
{{- end -}}

{{- define "kueue.labels" -}}
app.kubernetes.io/name: kueue
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* The namespaces Kueue's job webhooks skip unless the Configuration sets managedJobsNamespaceSelector. */}}
{{- define "kueue.managedJobsNamespaceSelector" -}}
{{- $config := .Values.managerConfig.controllerManagerConfigYaml | fromYaml -}}
{{- if hasKey $config "managedJobsNamespaceSelector" -}}
{{- toYaml $config.managedJobsNamespaceSelector -}}
{{- else -}}
matchExpressions:
  - key: kubernetes.io/metadata.name
    operator: NotIn
    values:
      - kube-system
      - {{ .Release.Namespace | quote }}
{{- end -}}
{{- end -}}
