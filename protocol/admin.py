"""Admin: the protocol as config.ini has it, a form to change it, the audit."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path

from pmuproject.errors import ServiceError
from protocol import services
from protocol.models import Protocol, ProtocolChange, ProtocolSetting

RECENT_CHANGES = 10


class ProtocolForm(forms.Form):
    protocol = forms.ChoiceField(choices=Protocol.choices, widget=forms.RadioSelect)


@admin.register(ProtocolSetting)
class ProtocolSettingAdmin(admin.ModelAdmin):
    """One page instead of a list: the model has no rows, only the file."""

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_changelist"
        view = self.admin_site.admin_view(self.setting_view)
        return [path("", view, name=name)]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def setting_view(self, request):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        can_change = self.has_change_permission(request)

        if request.method == "POST":
            if not can_change:
                raise PermissionDenied
            form = ProtocolForm(request.POST)
            if form.is_valid():
                try:
                    change = services.protocol_change(
                        form.cleaned_data["protocol"],
                        user=request.user,
                        via=ProtocolChange.Via.ADMIN,
                    )
                except ServiceError as exc:
                    self.message_user(request, exc.detail, messages.ERROR)
                else:
                    self.message_user(
                        request,
                        f"Protocol changed to {change.to_protocol}.",
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(request.path)
        else:
            form = None

        try:
            state = services.protocol_read()
        except ServiceError as exc:
            state = services.ProtocolState(None, None, False, exc.detail, None)
        if form is None:
            form = ProtocolForm(initial={"protocol": state.protocol})

        context = {
            **self.admin_site.each_context(request),
            "title": "Transport protocol",
            "opts": self.opts,
            "state": state,
            "config_path": services.config_path(),
            "form": form,
            "can_change": can_change,
            "recent": ProtocolChange.objects.order_by("-id")[:RECENT_CHANGES],
            "can_see_changes": request.user.has_perm("protocol.view_protocolchange"),
        }
        return TemplateResponse(
            request, "admin/protocol/protocolsetting/setting.html", context
        )


@admin.register(ProtocolChange)
class ProtocolChangeAdmin(admin.ModelAdmin):
    """The audit, read-only for everyone, superusers included."""

    list_display = (
        "changed_at",
        "from_protocol",
        "to_protocol",
        "changed_by_name",
        "via",
    )
    list_filter = ("via", "to_protocol")
    search_fields = ("changed_by_name",)
    date_hierarchy = "changed_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
