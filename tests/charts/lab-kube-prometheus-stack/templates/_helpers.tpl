{{- define "kps.prometheus" -}}{{ .Release.Name }}-prometheus{{- end }}
{{- define "kps.workload" -}}prometheus-{{ .Release.Name }}-prometheus{{- end }}
{{- define "kps.selectorLabels" -}}
app.kubernetes.io/name: prometheus
operator.prometheus.io/name: {{ include "kps.prometheus" . }}
prometheus: {{ include "kps.prometheus" . }}
{{- end }}
{{- define "kps.image" -}}
{{- $img := .Values.prometheus.prometheusSpec.image -}}
{{ $img.registry | default .Values.global.imageRegistry }}/{{ $img.repository }}:{{ $img.tag }}
{{- end }}
