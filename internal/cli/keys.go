package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/openproton/openproton/internal/app"
	"github.com/openproton/openproton/internal/auth"
	"github.com/openproton/openproton/internal/config"
)

// keysCommand manages access keys directly in the server's store (it opens the same data dir
// or database the server uses), so an operator can create the first keys without any.
func keysCommand() *cobra.Command {
	var cfg config.Server
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage access keys (reads the server's store directly)",
	}
	cfg.Bind(cmd.PersistentFlags())

	var role, account, description string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an access key and print it as an AWS shared-credentials profile",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := auth.ParseRole(role)
			if err != nil {
				return err
			}
			if account == "" {
				account = cfg.AccountID
			}
			st, err := app.OpenStore(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			key, err := auth.NewKey(account, r, description)
			if err != nil {
				return err
			}
			if err := st.AccessKeyCreate(cmd.Context(), key); err != nil {
				return fmt.Errorf("create key: %w", err)
			}
			// The secret is shown once, here, and never again.
			fmt.Fprintf(cmd.OutOrStdout(), "[openproton-%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n# account %s, role %s\n",
				r, key.AccessKeyID, key.SecretAccessKey, key.AccountID, key.Role)
			return nil
		},
	}
	create.Flags().StringVar(&role, "role", "developer", "admin, developer or readonly")
	create.Flags().StringVar(&account, "account", "", "account id the key acts in (default: --account-id)")
	create.Flags().StringVar(&description, "description", "", "free text shown by keys list")

	list := &cobra.Command{
		Use:   "list",
		Short: "List access keys (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := app.OpenStore(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			keys, err := st.AccessKeyList(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ACCESS KEY ID\tACCOUNT\tROLE\tCREATED\tDESCRIPTION")
			for _, k := range keys {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.AccessKeyID, k.AccountID, k.Role, k.CreatedAt.Format("2006-01-02T15:04:05Z"), k.Description)
			}
			return tw.Flush()
		},
	}

	del := &cobra.Command{
		Use:   "delete ACCESS_KEY_ID",
		Short: "Delete an access key; servers stop accepting it within seconds",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := app.OpenStore(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.AccessKeyDelete(cmd.Context(), args[0]); err != nil {
				return fmt.Errorf("delete key %s: %w", args[0], err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(create, list, del)
	return cmd
}
