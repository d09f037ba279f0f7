//! The `spin:variables/variables@3.0.0` import: a component reads its resolved variables.

use wasmtime::component::{Accessor, HasData};

use crate::config::variables::{ComponentVariables, Lookup};

mod bindings {
    wasmtime::component::bindgen!({
        inline: r#"
            package spin:variables@3.0.0;

            interface variables {
                get: async func(name: string) -> result<string, error>;

                variant error {
                    invalid-name(string),
                    undefined(string),
                    provider(string),
                    other(string),
                }
            }

            world host {
                import variables;
            }
        "#,
    });
}

use bindings::spin::variables::variables;

/// Marker tying the bindings to a store's [`ComponentVariables`].
pub struct SpinVariables;

impl HasData for SpinVariables {
    type Data<'a> = &'a ComponentVariables;
}

impl variables::Host for &ComponentVariables {}

impl<T> variables::HostWithStore<T> for SpinVariables {
    async fn get(accessor: &Accessor<T, Self>, name: String) -> Result<String, variables::Error> {
        accessor.with(|mut access| match access.get().get(&name) {
            Ok(value) => Ok(value),
            Err(Lookup::InvalidName(m)) => Err(variables::Error::InvalidName(m)),
            Err(Lookup::Undefined(m)) => Err(variables::Error::Undefined(m)),
        })
    }
}

pub fn add_to_linker<T: Send + 'static>(
    linker: &mut wasmtime::component::Linker<T>,
    get: fn(&mut T) -> &ComponentVariables,
) -> anyhow::Result<()> {
    variables::add_to_linker::<T, SpinVariables>(linker, get).map_err(anyhow::Error::from)
}
