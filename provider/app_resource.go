package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/berthdev/terraform-provider-berth/client"
	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

var (
	_ resource.Resource                   = &appResource{}
	_ resource.ResourceWithConfigure      = &appResource{}
	_ resource.ResourceWithImportState    = &appResource{}
	_ resource.ResourceWithValidateConfig = &appResource{}
)

// NewAppResource returns the berth_app resource.
func NewAppResource() resource.Resource { return &appResource{} }

type appResource struct {
	client *client.Client
}

type appModel struct {
	ID                  types.String `tfsdk:"id"`
	Name                types.String `tfsdk:"name"`
	Team                types.String `tfsdk:"team"`
	Platform            types.String `tfsdk:"platform"`
	AppType             types.String `tfsdk:"app_type"`
	ConfigVars          types.Map    `tfsdk:"config_vars"`
	SensitiveConfigVars types.Map    `tfsdk:"sensitive_config_vars"`
	Procs               types.List   `tfsdk:"procs"`
	RepositoryURL       types.String `tfsdk:"repository_url"`
	IP                  types.String `tfsdk:"ip"`
	Units               types.List   `tfsdk:"units"`
}

// The server's rules (package domain), checked at plan time; config var
// names are envNameRe's.
var (
	appNameRe   = regexp.MustCompile(domain.AppNamePattern)
	procNameRe  = regexp.MustCompile(domain.ProcNamePattern)
	procMemRe   = regexp.MustCompile(domain.MemoryPattern)
	userAppType = appTypeNames(domain.UserAppTypes)
)

// servicesEnvVar is maintained by berth from an app's bindings.
const servicesEnvVar = "TSURU_SERVICES"

// privateDigestsKey is the private state key holding, for each sensitive
// var, the server's digest of the value the provider last wrote.
const privateDigestsKey = "sensitive_config_var_digests"

func (r *appResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_app"
}

func (r *appResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	envKeys := mapvalidator.KeysAre(
		stringvalidator.RegexMatches(envNameRe, "config var names must start with a letter or '_' and contain only letters, digits and '_'"),
		stringvalidator.LengthAtMost(255),
		stringvalidator.NoneOf(servicesEnvVar),
	)
	resp.Schema = schema.Schema{
		Description: "An app: the one app every berth dialect shares (tsuru's app, lain's repo, a pipeline's member).\n\n" +
			"**Config vars.** The resource manages only the vars it declares in `config_vars` (public) and `sensitive_config_vars` (private). " +
			"Vars set by others (a service binding, CI, a person) are neither shown as drift nor removed. " +
			"A declared var changed or removed outside Terraform is drift, and so is a declared var whose public/private kind changed. " +
			"Removing a var from the configuration unsets exactly that var; moving a var between the two maps changes its kind in one apply.\n\n" +
			"Private values are masked for everybody but admins, so the provider detects that a sensitive var changed through the digest berthd " +
			"publishes for private vars (a keyed HMAC that reveals nothing of the value): when it no longer matches the value last applied, " +
			"the var shows as changed and the next apply writes the declared value again.\n\n" +
			"**Import** by name or id. Every public var users set is imported into `config_vars` and every private one into `sensitive_config_vars` " +
			"(vars exported by service bindings, and `TSURU_SERVICES`, are not). A token that cannot read private values imports them as " +
			"`*** (private variable)`, so the first plan after such an import shows `sensitive_config_vars` as changed and the first apply writes the declared values.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Description:   "The app's id (a UUID).",
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				Description:   "Name of the app: a lowercase letter, then lowercase letters, digits and hyphens, at most 40 characters. Changing it replaces the app (berth cannot rename apps).",
				Required:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{stringvalidator.RegexMatches(appNameRe, "must start with a lowercase letter and contain only lowercase letters, digits and '-' (at most 40 characters)")},
			},
			"team": schema.StringAttribute{
				Description:   "The team that owns the app. The provider's user must be in it, unless an admin. Changing it replaces the app.",
				Required:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{stringvalidator.RegexMatches(teamNameRe, "must start with a letter and contain only letters, digits, '-' and '_' (at most 63 characters)")},
			},
			"platform": schema.StringAttribute{
				Description:   "The platform the app runs on, one of the `berth_platforms` data source's names. Changing it replaces the app (berth cannot change an app's platform).",
				Required:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"app_type": schema.StringAttribute{
				Description: "lain's app type: `app` (default), `service` or `resource`. Changes in place while the app is not deployed; " +
					"berthd refuses changing the type of a deployed app, or of a resource that still has instances.",
				Optional:   true,
				Computed:   true,
				Default:    stringdefault.StaticString("app"),
				Validators: []validator.String{stringvalidator.OneOf(userAppType...)},
			},
			"config_vars": schema.MapAttribute{
				Description: "Public config vars the resource manages, by name. Other vars of the app are left alone.",
				ElementType: types.StringType,
				Optional:    true,
				Validators:  []validator.Map{envKeys},
			},
			"sensitive_config_vars": schema.MapAttribute{
				Description: "Private config vars the resource manages, by name: masked by berthd for non-admins and kept out of Terraform's output. " +
					"A name may not be in both maps.",
				ElementType: types.StringType,
				Optional:    true,
				Sensitive:   true,
				Validators:  []validator.Map{envKeys},
			},
			"procs": schema.ListNestedAttribute{
				Description: "The procs the app declares (lain's procs), in order. When not set, the app keeps the procs it declares (set through lain, for instance) and they are shown here. " +
					"Changes apply in place; on a deployed app the running procs follow at once. " +
					fmt.Sprintf("At most %d procs, running at most %d instances in all.", domain.MaxProcsPerApp, domain.MaxUnitsPerApp),
				Optional:      true,
				Computed:      true,
				PlanModifiers: []planmodifier.List{listplanmodifier.UseStateForUnknown()},
				Validators:    []validator.List{uniqueProcNames{}, listvalidator.SizeAtMost(domain.MaxProcsPerApp)},
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"name": schema.StringAttribute{
							Description: "Name of the proc: a lowercase letter, then lowercase letters, digits and hyphens, at most 30 characters; unique in the app.",
							Required:    true,
							Validators:  []validator.String{stringvalidator.RegexMatches(procNameRe, "must start with a lowercase letter and contain only lowercase letters, digits and '-' (at most 30 characters)")},
						},
						"num_instances": schema.Int64Attribute{
							Description: "How many instances (units) of the proc run when the app is deployed, 0 to 100. Defaults to 1.",
							Optional:    true,
							Computed:    true,
							Default:     int64default.StaticInt64(domain.DefaultProcInstances),
							Validators:  []validator.Int64{int64validator.Between(domain.MinProcInstances, domain.MaxProcInstances)},
						},
						"cpu": schema.Int64Attribute{
							Description: "CPUs of each instance, 1 to 32. Defaults to 1.",
							Optional:    true,
							Computed:    true,
							Default:     int64default.StaticInt64(domain.DefaultProcCPU),
							Validators:  []validator.Int64{int64validator.Between(domain.MinProcCPU, domain.MaxProcCPU)},
						},
						"memory": schema.StringAttribute{
							Description: "Memory of each instance, from `4M` to `64G`: a number with an optional unit K, M, G or T (powers of 1024), e.g. `64M`, `1.5G`, `512MiB`. Kept as written. Defaults to `32M`.",
							Optional:    true,
							Computed:    true,
							Default:     stringdefault.StaticString(domain.DefaultProcMemory),
							Validators:  []validator.String{stringvalidator.RegexMatches(procMemRe, "must be a size such as 64M or 1G")},
						},
					},
				},
			},
			"repository_url": schema.StringAttribute{
				Description:   "The app's git repository URL.",
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"ip": schema.StringAttribute{
				Description:   "The app's address (a swap exchanges it with another app's).",
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"units": schema.ListNestedAttribute{
				Description:   "The running units of the app (`<app>/0`, `<app>/1`, ...), derived from its procs once it is deployed; empty while it is not.",
				Computed:      true,
				PlanModifiers: []planmodifier.List{unitsFollowProcs{}},
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"name":  schema.StringAttribute{Description: "Unit name, `<app>/<n>`.", Computed: true},
						"state": schema.StringAttribute{Description: "`started`, `pending`, `error` or `stopped`.", Computed: true},
					},
				},
			},
		},
	}
}

func (r *appResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	data := providerDataFrom(req.ProviderData, &resp.Diagnostics)
	if data == nil {
		return
	}
	r.client = data.client
}

// ValidateConfig refuses a var declared both public and sensitive.
func (r *appResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var public, sensitive types.Map
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("config_vars"), &public)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("sensitive_config_vars"), &sensitive)...)
	if resp.Diagnostics.HasError() || public.IsNull() || public.IsUnknown() || sensitive.IsNull() || sensitive.IsUnknown() {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(public.Elements())) {
		if _, ok := sensitive.Elements()[name]; ok {
			resp.Diagnostics.AddAttributeError(path.Root("sensitive_config_vars").AtMapKey(name), "Config var declared twice",
				fmt.Sprintf("%q is in both config_vars and sensitive_config_vars: a var is either public or private.", name))
		}
	}
}

func (r *appResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan appModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := plan.Name.ValueString()
	_, _, err := r.client.Apps.Create(ctx, client.CreateAppRequest{Name: name, Platform: plan.Platform.ValueString(), TeamOwner: plan.Team.ValueString()})
	if err != nil {
		resp.Diagnostics.AddError("Cannot create app", err.Error())
		return
	}
	// A new app is a plain app with no procs and no vars.
	fresh := appModel{AppType: types.StringValue("app"), Procs: procsValue(nil)}
	if err := r.apply(ctx, name, fresh, plan); err != nil {
		// Keep the app in state (tainted), as the server has it, rather
		// than orphan it.
		if remote, ferr := fetchApp(ctx, r.client, name); ferr == nil {
			state := plan
			refreshModel(&state, remote, nil)
			resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
		}
		resp.Diagnostics.AddError("Cannot configure app "+name, err.Error())
		return
	}
	r.saveApplied(ctx, name, plan, &resp.State, resp.Private, &resp.Diagnostics)
}

func (r *appResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state appModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	remote, err := fetchApp(ctx, r.client, state.ID.ValueString())
	if client.IsNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read app", err.Error())
		return
	}
	if state.Name.IsNull() {
		// Import: only the id (or name) is known.
		importModel(&state, remote)
		resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
		return
	}
	trusted, diags := readDigests(ctx, req.Private)
	resp.Diagnostics.Append(diags...)
	kept, drifted := refreshModel(&state, remote, trusted)
	if len(drifted) > 0 {
		resp.Diagnostics.AddWarning("Sensitive config vars changed outside Terraform",
			fmt.Sprintf("The value of %s on app %s is no longer the one last applied (berthd's digest of it changed). "+
				"The next apply writes the declared value again.", strings.Join(drifted, ", "), remote.app.Name))
	}
	resp.Diagnostics.Append(writeDigests(ctx, resp.Private, kept)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *appResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state appModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := state.Name.ValueString()
	if err := r.apply(ctx, name, state, plan); err != nil {
		resp.Diagnostics.AddError("Cannot update app "+name, err.Error())
		return
	}
	r.saveApplied(ctx, name, plan, &resp.State, resp.Private, &resp.Diagnostics)
}

func (r *appResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state appModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if _, err := r.client.Apps.Delete(ctx, state.ID.ValueString()); err != nil && !client.IsNotFound(err) {
		resp.Diagnostics.AddError("Cannot delete app", err.Error())
	}
}

// ImportState takes the app's name or id; Read resolves it.
func (r *appResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
}

// apply makes the app declare what plan declares (type, procs) and sets and
// unsets the config vars that differ between prior (the state, or a fresh
// app on create) and plan. Unknown procs are not managed.
func (r *appResource) apply(ctx context.Context, app string, prior, plan appModel) error {
	declareProcs := !plan.Procs.IsUnknown()
	if plan.AppType.ValueString() != prior.AppType.ValueString() || (declareProcs && !plan.Procs.Equal(prior.Procs)) {
		var procs []client.ProcSpec
		if declareProcs {
			var err error
			if procs, err = procSpecs(ctx, plan.Procs); err != nil {
				return err
			}
		}
		if err := r.declare(ctx, app, plan.AppType.ValueString(), procs, declareProcs); err != nil {
			return err
		}
	}
	before, after := declaredVars(prior), declaredVars(plan)
	var unset []string
	for name := range before {
		if _, ok := after[name]; !ok {
			unset = append(unset, name)
		}
	}
	var set []client.EnvVar
	for name, v := range after {
		if old, ok := before[name]; !ok || old != v {
			set = append(set, client.EnvVar{Name: name, Value: v.value, Public: v.public})
		}
	}
	if len(unset) > 0 {
		slices.Sort(unset)
		if _, _, err := r.client.Env.Unset(ctx, app, unset...); err != nil {
			return fmt.Errorf("unset config vars %s: %w", strings.Join(unset, ", "), err)
		}
	}
	if len(set) > 0 {
		slices.SortFunc(set, func(a, b client.EnvVar) int { return strings.Compare(a.Name, b.Name) })
		if _, _, err := r.client.Env.Set(ctx, app, set...); err != nil {
			return fmt.Errorf("set config vars: %w", err)
		}
	}
	return nil
}

// declare replaces the app's type and, when declareProcs, its procs, keeping
// the rest of what it declares (the resources it uses).
func (r *appResource) declare(ctx context.Context, app, appType string, procs []client.ProcSpec, declareProcs bool) error {
	repo, _, err := r.client.Repos.Get(ctx, app)
	if err != nil {
		return fmt.Errorf("read what the app declares: %w", err)
	}
	want := repo.Meta
	want.AppType = appType
	if declareProcs {
		want.Procs = procs
	}
	if want.AppType == repo.Meta.AppType && slices.Equal(want.Procs, repo.Meta.Procs) {
		return nil
	}
	if _, _, err := r.client.Repos.SetMeta(ctx, app, want); err != nil {
		return fmt.Errorf("declare app type and procs: %w", err)
	}
	return nil
}

// saveApplied records the state after a create or update: the declared
// vars as planned, with the digests berthd now answers for the sensitive
// ones, and the rest from the server.
func (r *appResource) saveApplied(ctx context.Context, app string, plan appModel, state stateSetter, private privateState, diags *diag.Diagnostics) {
	remote, err := fetchApp(ctx, r.client, app)
	if err != nil {
		diags.AddError("Cannot read app "+app+" after applying", err.Error())
		return
	}
	planned := plan
	setComputed(&plan, remote)
	// Addresses and units may move on their own (a swap, a healer); keep
	// what the plan promised when it promised something, the next refresh
	// shows the news.
	if !planned.IP.IsUnknown() {
		plan.IP = planned.IP
	}
	if !planned.Units.IsUnknown() {
		plan.Units = planned.Units
	}
	digests := map[string]string{}
	for name := range stringsOf(plan.SensitiveConfigVars) {
		if v, ok := remote.env[name]; ok && !v.Public {
			digests[name] = v.Digest
		}
	}
	diags.Append(writeDigests(ctx, private, digests)...)
	diags.Append(state.Set(ctx, &plan)...)
}

// stateSetter and privateState are what Create and Update responses share.
type stateSetter interface {
	Set(ctx context.Context, val any) diag.Diagnostics
}

type privateState interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

func readDigests(ctx context.Context, private privateState) (map[string]string, diag.Diagnostics) {
	raw, diags := private.GetKey(ctx, privateDigestsKey)
	out := map[string]string{}
	if len(raw) == 0 || diags.HasError() {
		return out, diags
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		// Unreadable digests only mean the values cannot be vouched for:
		// the next apply writes them again.
		return map[string]string{}, diags
	}
	return out, diags
}

func writeDigests(ctx context.Context, private privateState, digests map[string]string) diag.Diagnostics {
	raw, err := json.Marshal(digests)
	if err != nil {
		var diags diag.Diagnostics
		diags.AddError("Cannot record config var digests", err.Error())
		return diags
	}
	return private.SetKey(ctx, privateDigestsKey, raw)
}

// remoteApp is an app as the server has it, through the routes that show
// its parts: tsuru's app (address, units), lain's repo (type, procs) and
// its env by name.
type remoteApp struct {
	app  *client.App
	repo *client.Repo
	env  map[string]client.EnvVar
}

func fetchApp(ctx context.Context, c *client.Client, nameOrID string) (*remoteApp, error) {
	app, _, err := c.Apps.Get(ctx, nameOrID)
	if err != nil {
		return nil, err
	}
	repo, _, err := c.Repos.Get(ctx, app.Name)
	if err != nil {
		return nil, err
	}
	vars, _, err := c.Env.List(ctx, app.Name, nil)
	if err != nil {
		return nil, err
	}
	env := make(map[string]client.EnvVar, len(vars))
	for _, v := range vars {
		env[v.Name] = v
	}
	return &remoteApp{app: app, repo: repo, env: env}, nil
}

// userSet reports whether users set v: not a binding's var nor berth's.
func userSet(v client.EnvVar) bool { return v.Instance == "" && v.Name != servicesEnvVar }

// setComputed copies what the server decides or reports into m.
func setComputed(m *appModel, remote *remoteApp) {
	m.ID = types.StringValue(remote.app.ID)
	m.Name = types.StringValue(remote.app.Name)
	m.Team = types.StringValue(remote.app.TeamOwner)
	m.Platform = types.StringValue(remote.app.Platform)
	m.AppType = types.StringValue(remote.repo.AppType)
	m.Procs = procsValue(remote.repo.Meta.Procs)
	m.RepositoryURL = types.StringValue(remote.app.Repository)
	m.IP = types.StringValue(remote.app.IP)
	m.Units = unitsValue(remote.app.Units)
}

// refreshModel brings m up to date with the server. Only the declared vars
// (the keys of m's maps) are looked at: one that is gone, or whose kind
// changed, leaves the map; a public one takes the server's value. A
// sensitive one keeps m's value while the server's digest is the one
// recorded when the provider wrote it, and otherwise takes what the server
// shows (masked, unless the provider's user is an admin). It returns the
// digests still valid and the names of the sensitive vars whose digest
// changed.
func refreshModel(m *appModel, remote *remoteApp, trusted map[string]string) (map[string]string, []string) {
	setComputed(m, remote)
	if !m.ConfigVars.IsNull() {
		out := map[string]string{}
		for name := range stringsOf(m.ConfigVars) {
			if v, ok := remote.env[name]; ok && v.Public {
				out[name] = v.Value
			}
		}
		m.ConfigVars = stringMap(out)
	}
	kept := map[string]string{}
	var drifted []string
	if !m.SensitiveConfigVars.IsNull() {
		out := map[string]string{}
		for name, known := range stringsOf(m.SensitiveConfigVars) {
			v, ok := remote.env[name]
			if !ok || v.Public {
				continue
			}
			d, recorded := trusted[name]
			switch {
			case recorded && d == v.Digest:
				out[name] = known
				kept[name] = d
			case recorded:
				out[name] = v.Value
				drifted = append(drifted, name)
			default:
				// Never written by the provider (imported): the server's
				// value is all there is to go by.
				out[name] = v.Value
			}
		}
		m.SensitiveConfigVars = stringMap(out)
	}
	slices.Sort(drifted)
	return kept, drifted
}

// importModel fills m, known only by id, from the server: every var users
// set is taken as declared.
func importModel(m *appModel, remote *remoteApp) {
	setComputed(m, remote)
	public, private := map[string]string{}, map[string]string{}
	for _, v := range remote.env {
		switch {
		case !userSet(v):
		case v.Public:
			public[v.Name] = v.Value
		default:
			private[v.Name] = v.Value
		}
	}
	m.ConfigVars, m.SensitiveConfigVars = stringMapOrNull(public), stringMapOrNull(private)
}

// declaredVar is a config var as a configuration declares it.
type declaredVar struct {
	value  string
	public bool
}

func declaredVars(m appModel) map[string]declaredVar {
	out := map[string]declaredVar{}
	for name, value := range stringsOf(m.ConfigVars) {
		out[name] = declaredVar{value: value, public: true}
	}
	for name, value := range stringsOf(m.SensitiveConfigVars) {
		out[name] = declaredVar{value: value}
	}
	return out
}

// stringsOf returns the known elements of a map of strings (none for a
// null or unknown map).
func stringsOf(m types.Map) map[string]string {
	out := make(map[string]string, len(m.Elements()))
	for k, v := range m.Elements() {
		if s, ok := v.(types.String); ok && !s.IsUnknown() && !s.IsNull() {
			out[k] = s.ValueString()
		}
	}
	return out
}

func appTypeNames(types []domain.AppType) []string {
	out := make([]string, len(types))
	for i, t := range types {
		out[i] = string(t)
	}
	return out
}
